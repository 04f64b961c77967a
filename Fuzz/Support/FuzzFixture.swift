import Portcullis

/// The fixed key set, policy and clock of the fuzz targets that verify tokens, so that the
/// committed seed tokens (`Fuzz/Corpus/FuzzJWT`, made with the private halves of these keys,
/// see `Fuzz/README.md`) verify in every run and the fuzzer starts from the accepting paths.
///
/// Nothing here is a secret: the keys exist only to sign fuzz seeds.
package enum FuzzFixture {
    package static let issuer = "https://issuer.fuzz"
    package static let audience = "fuzz-api"
    /// A second issuer with no audience check, whose key is found without a `kid`.
    package static let otherIssuer = "https://other.fuzz"
    package static let secret = Array("fuzz-hmac-secret-0123456789abcdef0123456789".utf8)
    /// Unix seconds the targets verify at: the seed tokens are issued at 1_900_000_000 and
    /// live 15 minutes.
    package static let now: Int64 = 1_900_000_060

    package static let rsaPublicKey = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7y+nYlWbOavJHga2wIqc
        yp4vBH3DcRq7eVZvSIERGQGHrVKPEuXVSTddNnZDlvIVR0xBMQiMSXukc8D820V7
        F7S5luwfoyxQei7e3FQXUNUGHmokWRWO9lAJi/BW+wQkZvXyqLKKDojf9JoAJ8Jg
        kvkYa4vHa6vkGE12AHMhZwPm6FqB1itsXp+pMZKV0SZc6X2bqGwg1xEux/m9Gomx
        Hx4cSSSsxbyISMc45kRz/MV4hcVNdE+SNXa/P/sllChYg6e4hT58JelbZ6IscjOE
        CgRMKPMlYoErvKZg/M9ySFw57nna6/erPN4ZGBeJZkZkYHg5Th+W31/Y1aGmB5wT
        sQIDAQAB
        -----END PUBLIC KEY-----
        """

    package static let ecPublicKey = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEi7yA0QbZ8Iu/DitQsLrXhzIYyHnw
        rJXKye/3+cctnxH/0YDGSxPdLRGcOWlJXk57FpuR9l52aOLZ1RkSpDfVXw==
        -----END PUBLIC KEY-----
        """

    /// `issuer` (audience `fuzz-api`; an HS256 secret and RS256 and ES256 keys with `kid`s
    /// `rsa-1` and `ec-1`) and `otherIssuer` (ES256 only, no `kid`, no audience check); tokens are read from
    /// `Authorization` or the `access_token` cookie, refresh tokens from `X-Refresh-Token` or the
    /// `refresh_token` cookie.
    package static var jwtSettings: JWTSettings {
        var settings = JWTSettings(issuers: [
            IssuerSettings(
                issuer: issuer, audiences: [audience], algorithms: [.HS256, .RS256, .ES256],
                keys: [
                    KeySourceSettings(kind: .secret(bytes: secret)),
                    KeySourceSettings(kind: .publicKeyFile(path: "rsa.pem", pem: rsaPublicKey, kid: "rsa-1")),
                    KeySourceSettings(kind: .publicKeyFile(path: "ec.pem", pem: ecPublicKey, kid: "ec-1")),
                ]),
            IssuerSettings(
                issuer: otherIssuer, audiences: nil, algorithms: [.ES256],
                keys: [KeySourceSettings(kind: .publicKeyFile(path: "ec.pem", pem: ecPublicKey, kid: nil))]),
        ])
        settings.accessToken = [.header("Authorization"), .cookie("access_token")]
        settings.refreshToken = [.header("X-Refresh-Token"), .cookie("refresh_token")]
        return settings
    }

    /// The verifier for `jwtSettings`; the fixture keys always parse.
    package static func makeVerifier() -> TokenVerifier {
        do {
            return try TokenVerifier(settings: jwtSettings)
        } catch {
            fatalError("the fuzz fixture keys do not parse: \(error)")
        }
    }
}

extension Array where Element == UInt8 {
    /// The fuzzer's input, copied out of libFuzzer's buffer.
    package init(fuzzInput data: UnsafePointer<UInt8>, count: Int) {
        self.init(UnsafeBufferPointer(start: data, count: count))
    }
}
