/// Config sections that validate today but whose behaviour arrives in later releases; `serve`
/// logs one warning for each so an operator is never silently unprotected.
public enum InactiveFeatures {
    public static func warnings(for config: GatewayConfig) -> [String] {
        var warnings: [String] = []
        for issuer in config.jwt.issuers {
            for key in issuer.keys {
                if case .jwksURL(let url, _) = key.kind {
                    warnings.append("jwt: jwks_url \(url) is not fetched yet; tokens that need it get 503 keys_unavailable")
                }
            }
        }
        return warnings
    }
}
