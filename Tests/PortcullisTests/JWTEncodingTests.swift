import Testing

@testable import Portcullis

@Suite("Base64url and compact JWS encoding")
struct JWTEncodingTests {
    @Test("base64url round-trips every length without padding")
    func roundTrip() throws {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text.utf8) == bytes)
        }
        #expect(Base64URL.encode([0x03, 0xFF, 0xFE]) == "A__-")
    }

    @Test("strict base64url decoding refuses padding, foreign characters, bad lengths and non-zero trailing bits",
          arguments: ["QQ==", "QQ=", "a+b/", "abc!", "A", "ABCDE", "QR", "QUF", "Q Q"])
    func strict(text: String) {
        #expect(Base64URL.decode(text.utf8) == nil)
    }

    @Test("PEM base64 accepts the standard alphabet with optional padding")
    func standardAlphabet() {
        #expect(Base64URL.decode("+/8=".utf8, alphabet: .standard, allowPadding: true) == [0xFB, 0xFF])
        #expect(Base64URL.decode("+/8".utf8, alphabet: .standard, allowPadding: true) == [0xFB, 0xFF])
        #expect(Base64URL.decode("+/8==".utf8, alphabet: .standard, allowPadding: true) == nil)
        #expect(Base64URL.decode("-_8".utf8, alphabet: .standard, allowPadding: true) == nil)
    }

    @Test("the signer writes alg into the header unless the header names one")
    func signerHeader() throws {
        let key = JWTSigningKey.hmac(TestKeys.secret)
        let token = JWTSigner.sign(header: ["typ": "JWT"], payload: ["sub": "a"], key: key, algorithm: .HS384)
        let parts = token.split(separator: ".")
        #expect(parts.count == 3)
        #expect(Base64URL.decode(parts[0].utf8) == Array(#"{"alg":"HS384","typ":"JWT"}"#.utf8))
        #expect(Base64URL.decode(parts[2].utf8)?.count == 48)
        let custom = JWTSigner.sign(header: ["alg": "none"], payload: [:], key: key, algorithm: .HS256)
        #expect(Base64URL.decode(custom.split(separator: ".")[0].utf8) == Array(#"{"alg":"none"}"#.utf8))
    }

    @Test("ECDSA signatures are raw r||s of 64 and 96 bytes")
    func ecdsaSignatureSize() {
        let p256 = JWTSigner.sign(header: [:], payload: [:], key: JWTSigningKey(material: .p256(TestKeys.p256)), algorithm: .ES256)
        let p384 = JWTSigner.sign(header: [:], payload: [:], key: JWTSigningKey(material: .p384(TestKeys.p384)), algorithm: .ES384)
        #expect(Base64URL.decode(p256.split(separator: ".")[2].utf8)?.count == 64)
        #expect(Base64URL.decode(p384.split(separator: ".")[2].utf8)?.count == 96)
    }
}
