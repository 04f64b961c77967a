/// Produces compact JWS tokens. Used by ``TokenMinter`` and by tests that need exact control
/// over the header and claims.
public enum JWTSigner {
    /// Signs `payload` with `key` under `algorithm`.
    ///
    /// The header gets `"alg": algorithm` unless `header` already names an `alg` (tests use that
    /// to craft mismatched or `none` headers). JSON is written compactly with sorted keys.
    /// `key` must support `algorithm` (a programming error otherwise).
    public static func sign(
        header: [String: JSONValue], payload: [String: JSONValue], key: JWTSigningKey, algorithm: JWTAlgorithm
    ) -> String {
        var header = header
        if header["alg"] == nil { header["alg"] = .string(algorithm.rawValue) }
        let signingInput =
            Base64URL.encode(Array(JSONValue.object(header).compactText.utf8)) + "."
            + Base64URL.encode(Array(JSONValue.object(payload).compactText.utf8))
        let signature = key.signature(for: Array(signingInput.utf8), algorithm: algorithm)
        return signingInput + "." + Base64URL.encode(signature)
    }
}
