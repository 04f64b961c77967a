/// Version numbers reported by `portcullis version`.
public enum PortcullisVersion {
    public static let current = "0.1.0"
    /// `PC_PLUGIN_ABI_MAJOR.PC_PLUGIN_ABI_MINOR` of `portcullis_plugin.h`.
    public static let pluginABI = "1.0"
}
