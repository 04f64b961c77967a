import Testing
import _CryptoExtras

@testable import Portcullis

@Suite("Token minting")
struct TokenMinterTests {
    func claims(of token: String) throws -> [String: JSONValue] {
        let payload = try #require(Base64URL.decode(token.split(separator: ".")[1].utf8))
        guard case .object(let claims)? = JSONValue.parse(payload) else { throw MintError.notAnObject }
        return claims
    }

    func header(of token: String) throws -> [String: JSONValue] {
        let header = try #require(Base64URL.decode(token.split(separator: ".")[0].utf8))
        guard case .object(let members)? = JSONValue.parse(header) else { throw MintError.notAnObject }
        return members
    }

    enum MintError: Error { case notAnObject }

    @Test("a token minted with an HMAC secret verifies with the same settings and carries the claims")
    func hmac() throws {
        let settings = AuthTest.settings(algorithms: [.HS512, .HS256], keys: [.secret(bytes: TestKeys.secret)])
        let minter = try TokenMinter(settings: settings)
        #expect(minter.algorithm == .HS512)
        let token = minter.mint(subject: "alice", type: .access, ttl: .seconds(900), extraClaims: ["scope": "orders:read"], now: AuthTest.now)
        let verified = try TokenVerifier(settings: settings).verify(token, expecting: .access, now: AuthTest.now, cache: nil).get()
        #expect(verified.subject == "alice")
        #expect(verified.issuer == AuthTest.issuer)
        #expect(verified.audiences == [AuthTest.audience])
        #expect(verified.issuedAt == AuthTest.now)
        #expect(verified.expiresAt == AuthTest.now + 900)
        #expect(verified.claims["type"] == "access")
        #expect(verified.claims["scope"] == "orders:read")
        let jti = try #require(verified.jti)
        #expect(jti.count == 32 && jti.allSatisfy(\.isHexDigit))
        #expect(try header(of: token) == ["alg": "HS512", "typ": "JWT"])
    }

    @Test("each minted token gets a fresh jti")
    func freshJTI() throws {
        let minter = try TokenMinter(settings: AuthTest.settings(algorithms: [.HS256], keys: [.secret(bytes: TestKeys.secret)]))
        let a = try claims(of: minter.mint(subject: "a", type: .access, ttl: .seconds(60), now: AuthTest.now))
        let b = try claims(of: minter.mint(subject: "a", type: .access, ttl: .seconds(60), now: AuthTest.now))
        #expect(a["jti"] != b["jti"])
    }

    @Test("a refresh token minted with an RSA private key PEM verifies as refresh, with its kid")
    func rsaRefresh() throws {
        var settings = AuthTest.settings(
            algorithms: [.ES256, .PS256, .RS256],
            keys: [.privateKeyFile(path: "dev.key", pem: TestKeys.rsa.pemRepresentation, kid: "dev-1")])
        settings.tokenTypeClaim = "token_use"
        let minter = try TokenMinter(settings: settings)
        #expect(minter.algorithm == .PS256)
        let token = minter.mint(subject: "bob", type: .refresh, ttl: .seconds(7 * 86400), now: AuthTest.now)
        let verifier = try TokenVerifier(settings: settings)
        let verified = try verifier.verify(token, expecting: .refresh, now: AuthTest.now, cache: nil).get()
        #expect(verified.type == .refresh)
        #expect(verified.claims["token_use"] == "refresh")
        #expect(verified.keyID == "dev-1")
        #expect(try header(of: token)["kid"] == "dev-1")
        #expect(AuthTest.failure(verifier.verify(token, expecting: .access, now: AuthTest.now, cache: nil))?.code == .wrongTokenType)
    }

    @Test("the first issuer that can sign is used and aud is left out without audiences")
    func firstSigningIssuer() throws {
        var settings = AuthTest.settings(algorithms: [.RS256], keys: [.publicKeyFile(path: "a.pub", pem: TestKeys.rsa.publicKey.pemRepresentation, kid: nil)])
        settings.issuers.append(IssuerSettings(issuer: "second", audiences: nil, algorithms: [.RS256, .HS256], keys: [.init(kind: .secret(bytes: TestKeys.secret))]))
        settings.issuers.append(IssuerSettings(issuer: "third", audiences: ["x"], algorithms: [.HS256], keys: [.init(kind: .secret(bytes: TestKeys.secretOther))]))
        let minter = try TokenMinter(settings: settings)
        let claims = try claims(of: minter.mint(subject: "s", type: .access, ttl: .seconds(60), now: AuthTest.now))
        #expect(claims["iss"] == "second")
        #expect(claims["aud"] == nil)
        #expect(minter.algorithm == .HS256)
    }

    @Test("settings without any private key or secret cannot mint")
    func noSigningKey() {
        let settings = AuthTest.settings(algorithms: [.RS256], keys: [.publicKeyFile(path: "a.pub", pem: TestKeys.rsa.publicKey.pemRepresentation, kid: nil)])
        #expect(throws: ConfigErrors.self) { try TokenMinter(settings: settings) }
        let mismatch = AuthTest.settings(algorithms: [.RS256], keys: [.secret(bytes: TestKeys.secret)])
        #expect(throws: ConfigErrors.self) { try TokenMinter(settings: mismatch) }
    }

    @Test("an unreadable private key file is a config error at its position")
    func badPrivateKey() {
        let settings = AuthTest.settings(algorithms: [.RS256], keys: [.privateKeyFile(path: "dev.key", pem: "nope", kid: nil)])
        do {
            _ = try TokenMinter(settings: settings)
            Issue.record("expected an error")
        } catch {
            #expect(error.errors.first?.location == SourceLocation(file: "gateway.yaml", line: 9, column: 3))
        }
    }
}
