/*
 * The C target that carries portcullis_plugin.h. The host imports the header from
 * Swift; plugins include it. This file only pins the layout the ABI promises: the
 * fields of pc_blocklist_plugin keep their order and the descriptor starts with the
 * version words the host reads before anything else.
 */
#include "portcullis_plugin.h"

#include <stddef.h>

#define PC_LAYOUT_CHECK(name, condition) typedef char pc_layout_check_##name[(condition) ? 1 : -1]

PC_LAYOUT_CHECK(major_first, offsetof(pc_blocklist_plugin, abi_major) == 0);
PC_LAYOUT_CHECK(minor_second, offsetof(pc_blocklist_plugin, abi_minor) == 4);
PC_LAYOUT_CHECK(size_third, offsetof(pc_blocklist_plugin, struct_size) == 8);
PC_LAYOUT_CHECK(batch_last, offsetof(pc_blocklist_plugin, is_revoked_batch) + sizeof(void *)
                                == sizeof(pc_blocklist_plugin));
PC_LAYOUT_CHECK(host_api_version_first, offsetof(pc_host_api, abi_major) == 0);
