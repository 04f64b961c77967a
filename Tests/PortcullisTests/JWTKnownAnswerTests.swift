import Testing

@testable import Portcullis

/// RFC 7515 appendix A: the exact example tokens and keys from the RFC.
@Suite("RFC 7515 known-answer vectors")
struct JWTKnownAnswerTests {
    /// Payload shared by A.1–A.3: `{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}`.
    static let payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

    static let hs256Token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + payload + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let hs256JWKS = #"{"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]}"#

    static let rs256Token =
        "eyJhbGciOiJSUzI1NiJ9." + payload + "."
        + "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
    static let rs256JWKS =
        #"{"keys":[{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}]}"#

    static let es256Token =
        "eyJhbGciOiJFUzI1NiJ9." + payload + "."
        + "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    static let es256JWKS =
        #"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var token: String
        var jwks: String
        var algorithm: JWTAlgorithm
        var testDescription: String { name }
    }

    static let vectors = [
        Vector(name: "A.1 HS256", token: hs256Token, jwks: hs256JWKS, algorithm: .HS256),
        Vector(name: "A.2 RS256", token: rs256Token, jwks: rs256JWKS, algorithm: .RS256),
        Vector(name: "A.3 ES256", token: es256Token, jwks: es256JWKS, algorithm: .ES256),
    ]

    static func verifier(_ vector: Vector) throws -> TokenVerifier {
        var settings = JWTSettings(issuers: [
            IssuerSettings(
                issuer: "joe", audiences: nil, algorithms: [vector.algorithm],
                keys: [KeySourceSettings(kind: .jwksFile(path: "rfc7515.json", contents: Array(vector.jwks.utf8)))])
        ])
        settings.require = []
        return try TokenVerifier(settings: settings)
    }

    @Test("the RFC example token verifies with the RFC example key", arguments: vectors)
    func verifies(vector: Vector) throws {
        let token = try Self.verifier(vector).verify(vector.token, expecting: .access, now: 1_300_819_000, cache: nil).get()
        #expect(token.issuer == "joe")
        #expect(token.expiresAt == 1_300_819_380)
        #expect(token.claims["http://example.com/is_root"] == .bool(true))
        #expect(token.algorithm == vector.algorithm)
    }

    @Test("the RFC example token fails once one signature byte is flipped", arguments: vectors)
    func flippedByteFails(vector: Vector) throws {
        let parts = vector.token.split(separator: ".")
        var signature = try #require(Base64URL.decode(parts[2].utf8))
        signature[signature.count / 2] ^= 0x01
        let tampered = "\(parts[0]).\(parts[1]).\(Base64URL.encode(signature))"
        let result = try Self.verifier(vector).verify(tampered, expecting: .access, now: 1_300_819_000, cache: nil)
        #expect(AuthTest.failure(result) == AuthFailure(.invalidToken, "the token signature is invalid"))
    }

    @Test("the RFC example token is expired after its exp plus leeway", arguments: vectors)
    func expiresAfterExp(vector: Vector) throws {
        let result = try Self.verifier(vector).verify(vector.token, expecting: .access, now: 1_300_819_410, cache: nil)
        #expect(AuthTest.failure(result)?.code == .tokenExpired)
    }
}
