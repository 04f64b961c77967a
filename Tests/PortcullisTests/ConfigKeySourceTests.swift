import Foundation
import Testing

@testable import Portcullis

@Suite("Config loader: key sources")
struct ConfigKeySourceTests {
    /// A config whose only issuer has the given `keys:` entries (indented as list items at column 7).
    static func config(keys: String) -> String {
        """
        jwt:
          issuers:
            - issuer: https://auth.example.com
              algorithms: [ES256, HS256]
              keys:
        \(keys)
        upstreams:
          orders:
            url: http://127.0.0.1:9000

        """
    }

    @Test("a readable PEM file is read into the settings, resolved against the config folder")
    func readsPEM() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
        try folder.write("keys/es256.pub.pem", pem)
        let yaml = Self.config(keys: "        - public_key_file: keys/es256.pub.pem\n          kid: k1")
        let config = try ConfigFixture.parse(yaml, directory: folder.path)
        let source = try #require(config.jwt.issuers.first?.keys.first)
        guard case .publicKeyFile(let path, let text, let kid) = source.kind else {
            Issue.record("expected a public key file, got \(source.kind)")
            return
        }
        #expect(path == folder.path + "/keys/es256.pub.pem")
        #expect(text == pem)
        #expect(kid == "k1")
        #expect(source.location == SourceLocation(file: "gateway.yaml", line: 6, column: 28))
    }

    @Test("a missing key file is reported at the path value with the resolved path and the reason")
    func missingFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let yaml = Self.config(keys: "        - jwks_file: keys/missing.json")
        let errors = ConfigFixture.errors(yaml, directory: folder.path)
        #expect(
            errors.map(\.description) == [
                "gateway.yaml:6:22: jwt.issuers[0].keys[0].jwks_file: cannot read '\(folder.path)/keys/missing.json': No such file or directory"
            ])
    }

    @Test("a folder given as a key file is refused")
    func directoryAsFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let errors = ConfigFixture.errors(Self.config(keys: "        - private_key_file: ."), directory: folder.path)
        #expect(errors.first?.message.hasSuffix("is a directory") == true)
    }

    @Test("secret_base64 accepts both alphabets, with and without padding", arguments: [
        ("+/+/", [0xFB, 0xFF, 0xBF] as [UInt8]), ("-_-_", [0xFB, 0xFF, 0xBF]),
        ("aGVsbG8=", Array("hello".utf8)), ("aGVsbG8", Array("hello".utf8)),
        ("_-8=", [0xFF, 0xEF]), ("_-8", [0xFF, 0xEF]), ("+-8", [0xFB, 0xEF]),
    ])
    func base64(text: String, expected: [UInt8]) throws {
        let config = try ConfigFixture.parse(Self.config(keys: "        - secret_base64: \"\(text)\""))
        let source = try #require(config.jwt.issuers.first?.keys.first)
        guard case .secret(let bytes) = source.kind else {
            Issue.record("expected a secret, got \(source.kind)")
            return
        }
        #expect(bytes == expected)
    }

    @Test("invalid base64 is refused at the value", arguments: ["a", "ab=c", "a===", "aGVsbG8==", "a b=", "!!!!"])
    func invalidBase64(text: String) {
        let errors = ConfigFixture.errors(Self.config(keys: "        - secret_base64: \"\(text)\""))
        #expect(errors.map(\.message) == ["jwt.issuers[0].keys[0].secret_base64: not valid base64 (standard or URL-safe alphabet)"])
        #expect(ConfigFixture.position(errors.first) == [6, 26])
    }

    @Test("a secret is its raw UTF-8 bytes and must not be empty")
    func secret() throws {
        let config = try ConfigFixture.parse(Self.config(keys: "        - secret: \"h\u{e9}llo \""))
        guard case .secret(let bytes) = config.jwt.issuers.first?.keys.first?.kind else {
            Issue.record("expected a secret")
            return
        }
        #expect(bytes == Array("h\u{e9}llo ".utf8))
        let errors = ConfigFixture.errors(Self.config(keys: "        - secret: ${EMPTY:-}"))
        #expect(errors.map(\.message) == ["jwt.issuers[0].keys[0].secret: must not be empty"])
    }

    @Test("each keys entry needs exactly one source, and refresh/kid only where they apply")
    func sourceShape() {
        let both = ConfigFixture.errors(Self.config(keys: "        - secret: a\n          jwks_url: https://x.example.com/jwks"))
        #expect(both.map(\.message) == [
            "jwt.issuers[0].keys[0].jwks_url: only one key source per entry (this one also has 'secret'); use another list item"
        ])
        #expect(ConfigFixture.position(both.first) == [7, 11])

        let none = ConfigFixture.errors(Self.config(keys: "        - kid: a"))
        #expect(none.first?.message.hasPrefix("jwt.issuers[0].keys[0]: expected one of jwks_url, jwks_file") == true)

        let misplaced = ConfigFixture.errors(Self.config(keys: "        - secret: a\n          refresh: 5m\n          kid: x"))
        #expect(misplaced.map(\.message) == [
            "jwt.issuers[0].keys[0].refresh: 'refresh' is only valid with jwks_url",
            "jwt.issuers[0].keys[0].kid: 'kid' is only valid with public_key_file or private_key_file",
        ])
        #expect(misplaced.map { ConfigFixture.position($0) } == [[7, 11], [8, 11]])

        let badURL = ConfigFixture.errors(Self.config(keys: "        - jwks_url: ftp://x.example.com/jwks"))
        #expect(badURL.first?.message.hasPrefix("jwt.issuers[0].keys[0].jwks_url: expected an http:// or https:// URL") == true)
    }
}
