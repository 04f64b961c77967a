import CPortcullisPlugin

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finding the entry symbol and checking the descriptor a plugin fills in (SPEC section 7).
enum PluginABI {
    /// Why a library is not accepted.
    struct Refusal: Error {
        var reason: String

        init(_ reason: String) {
            self.reason = reason
        }
    }

    static let entrySymbol = "portcullis_blocklist_plugin_v\(PC_PLUGIN_ABI_MAJOR)"

    /// Calls the entry symbol and validates what it wrote: the ABI version, the struct size,
    /// the required functions and the optional ones the capabilities promise.
    static func describe(
        library: UnsafeMutableRawPointer, hostAPI: UnsafePointer<pc_host_api>
    ) -> Result<pc_blocklist_plugin, Refusal> {
        guard let symbol = dlsym(library, entrySymbol) else {
            return .failure(Refusal(missingEntryReason(library: library)))
        }
        let entry = unsafeBitCast(symbol, to: pc_blocklist_plugin_entry_fn.self)
        var descriptor = pc_blocklist_plugin()
        let status = entry(hostAPI, &descriptor, MemoryLayout<pc_blocklist_plugin>.size)
        guard status == PC_OK else {
            return .failure(Refusal("\(entrySymbol) returned \(status) instead of PC_OK"))
        }
        let hostVersion = "\(PC_PLUGIN_ABI_MAJOR).\(PC_PLUGIN_ABI_MINOR)"
        guard descriptor.abi_major == PC_PLUGIN_ABI_MAJOR else {
            return .failure(Refusal(
                "plugin ABI \(descriptor.abi_major).\(descriptor.abi_minor) is not supported: this gateway speaks ABI \(hostVersion)"
            ))
        }
        guard descriptor.struct_size >= MemoryLayout<pc_blocklist_plugin>.size else {
            return .failure(Refusal(
                "descriptor struct_size \(descriptor.struct_size) is smaller than the ABI \(hostVersion) descriptor (\(MemoryLayout<pc_blocklist_plugin>.size) bytes)"
            ))
        }
        var missing: [String] = []
        if descriptor.create == nil { missing.append("create") }
        if descriptor.destroy == nil { missing.append("destroy") }
        if descriptor.health == nil { missing.append("health") }
        if descriptor.is_revoked == nil { missing.append("is_revoked") }
        if descriptor.revoke == nil { missing.append("revoke") }
        if descriptor.capabilities & PC_CAP_SUBJECT != 0, descriptor.revoke_subject == nil {
            missing.append("revoke_subject (PC_CAP_SUBJECT is set)")
        }
        if descriptor.capabilities & PC_CAP_BATCH != 0, descriptor.is_revoked_batch == nil {
            missing.append("is_revoked_batch (PC_CAP_BATCH is set)")
        }
        guard missing.isEmpty else {
            return .failure(Refusal("the descriptor has no \(missing.joined(separator: ", "))"))
        }
        return .success(descriptor)
    }

    /// Says why the entry is missing: a plugin built for another major version exports
    /// another symbol, which is worth naming.
    private static func missingEntryReason(library: UnsafeMutableRawPointer) -> String {
        let reason = dlerrorText()
        for major in 1...9 where major != Int(PC_PLUGIN_ABI_MAJOR) {
            if dlsym(library, "portcullis_blocklist_plugin_v\(major)") != nil {
                return "the plugin is built for ABI \(major).x (it exports portcullis_blocklist_plugin_v\(major)), this gateway speaks ABI \(PC_PLUGIN_ABI_MAJOR).\(PC_PLUGIN_ABI_MINOR)"
            }
        }
        return "no symbol \(entrySymbol): \(reason) (not a Portcullis blocklist plugin?)"
    }
}
