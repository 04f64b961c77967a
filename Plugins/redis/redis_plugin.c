/* Placeholder until the redis plugin lands: loads, refuses create. */
#include "portcullis_plugin.h"

#include <stdio.h>
#include <string.h>

static int32_t stub_create(const pc_host_api *host, pc_str config_json, pc_instance **out, pc_errbuf err) {
    (void)host; (void)config_json; (void)out;
    snprintf(err.buf, err.cap, "the redis plugin is not implemented yet");
    return PC_ERR_UNSUPPORTED;
}

static void stub_destroy(pc_instance *inst) { (void)inst; }

static int32_t stub_health(pc_instance *inst, pc_errbuf err) { (void)inst; (void)err; return PC_ERR_UNSUPPORTED; }

static int32_t stub_is_revoked(pc_instance *inst, const pc_token *tok, int32_t *verdict, pc_errbuf err) {
    (void)inst; (void)tok; (void)verdict; (void)err;
    return PC_ERR_UNSUPPORTED;
}

static int32_t stub_revoke(pc_instance *inst, const pc_token *tok, pc_errbuf err) {
    (void)inst; (void)tok; (void)err;
    return PC_ERR_UNSUPPORTED;
}

PC_EXPORT int32_t portcullis_blocklist_plugin_v1(const pc_host_api *host, pc_blocklist_plugin *out, size_t out_size) {
    pc_blocklist_plugin d;
    (void)host;
    memset(&d, 0, sizeof d);
    d.abi_major = PC_PLUGIN_ABI_MAJOR;
    d.abi_minor = PC_PLUGIN_ABI_MINOR;
    d.struct_size = sizeof d;
    d.name = "redis";
    d.version = "0.0.0";
    d.create = stub_create;
    d.destroy = stub_destroy;
    d.health = stub_health;
    d.is_revoked = stub_is_revoked;
    d.revoke = stub_revoke;
    memcpy(out, &d, out_size < sizeof d ? out_size : sizeof d);
    return PC_OK;
}
