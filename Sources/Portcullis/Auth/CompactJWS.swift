/// A JWS in compact serialization, split and decoded but not yet verified.
struct CompactJWS {
    var header: [String: JSONValue]
    var payload: [String: JSONValue]
    var signature: [UInt8]
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    var signingInput: ArraySlice<UInt8>

    /// Splits `token` into exactly three base64url segments whose first two are JSON objects.
    static func parse(_ token: [UInt8]) -> Result<CompactJWS, AuthFailure> {
        var dots: [Int] = []
        for (index, byte) in token.enumerated() where byte == UInt8(ascii: ".") {
            dots.append(index)
            if dots.count > 2 { break }
        }
        guard dots.count == 2 else { return .failure(.invalid("the token is not a JWS with three segments")) }
        let headerBytes = token[..<dots[0]]
        let payloadBytes = token[(dots[0] + 1)..<dots[1]]
        let signatureBytes = token[(dots[1] + 1)...]
        guard let header = decodeObject(headerBytes) else {
            return .failure(.invalid("the token header is not a base64url JSON object"))
        }
        guard let payload = decodeObject(payloadBytes) else {
            return .failure(.invalid("the token payload is not a base64url JSON object"))
        }
        guard let signature = Base64URL.decode(signatureBytes), !signature.isEmpty else {
            return .failure(.invalid("the token signature is not valid base64url"))
        }
        return .success(
            CompactJWS(header: header, payload: payload, signature: signature, signingInput: token[..<dots[1]]))
    }

    private static func decodeObject(_ segment: ArraySlice<UInt8>) -> [String: JSONValue]? {
        guard let json = Base64URL.decode(segment), case .object(let members)? = JSONValue.parse(json) else {
            return nil
        }
        return members
    }
}
