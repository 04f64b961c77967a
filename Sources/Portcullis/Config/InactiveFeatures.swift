/// Config sections that validate today but whose behaviour arrives in later releases; `serve`
/// logs one warning for each so an operator is never silently unprotected.
public enum InactiveFeatures {
    public static func warnings(for config: GatewayConfig) -> [String] {
        var warnings: [String] = []
        if config.server.tls != nil {
            warnings.append("server.tls: validated, but the listener serves plain HTTP until TLS support lands")
        }
        for upstream in config.upstreams where upstream.scheme == .https {
            warnings.append("upstreams.\(upstream.name): https upstreams are not supported yet; requests get 502")
        }
        return warnings
    }
}
