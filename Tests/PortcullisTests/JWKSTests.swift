import Crypto
import Foundation
import Logging
import NIOCore
import PortcullisTestSupport
import Synchronization
import Testing

@testable import Portcullis

/// `jwks_url` (SPEC section 2) over real sockets: a gateway in-process fetching from a JWKS
/// server whose answer each test changes, with ES256 tokens naming their key by `kid`.
@Suite("Remote JWKS")
struct JWKSTests {
    static let issuer = AuthTest.issuer
    static let k1 = Signer(kid: "k1", key: TestKeys.p256)
    static let k2 = Signer(kid: "k2", key: TestKeys.p256Other)
    /// A key never published: its tokens name kids no set has.
    static let stranger = Signer(kid: "stranger", key: P256.Signing.PrivateKey())

    /// A P-256 key with its `kid`: its JWK and the tokens it signs.
    struct Signer {
        var kid: String
        var key: P256.Signing.PrivateKey

        var jwk: JSONValue { TestJWK.ec(key.publicKey.rawRepresentation, curve: "P-256", kid: kid) }

        /// A fresh token valid now, naming `kid` (this signer's unless given).
        func token(kid: String? = nil) -> String {
            let now = TokenFactory.now
            let claims = AuthTest.claims([
                "iat": .number(Double(now - 60)), "exp": .number(Double(now + 600)), "jti": .string(UUID().uuidString),
            ])
            return JWTSigner.sign(
                header: ["typ": "JWT", "kid": .string(kid ?? self.kid)], payload: claims,
                key: JWTSigningKey(material: .p256(key)), algorithm: .ES256)
        }
    }

    static func jwks(_ signers: Signer...) -> JWKSServer.Answer {
        .body(Array(JSONValue.object(["keys": .array(signers.map(\.jwk))]).compactText.utf8))
    }

    static func yaml(jwksURL: String, refresh: String) -> String {
        """
        server:
          listen: 127.0.0.1:0
        admin:
          listen: 127.0.0.1:0
        jwt:
          issuers:
            - issuer: \(issuer)
              audiences: [\(AuthTest.audience)]
              algorithms: [ES256]
              keys:
                - jwks_url: \(jwksURL)
                  refresh: \(refresh)
        upstreams:
          app:
            url: {{UPSTREAM}}
        routes:
          - name: api
            path_prefix: /api/
            upstream: app
        """
    }

    /// Runs `body` with a JWKS server answering `answer`, an upstream, and a gateway fetching
    /// from the server; shuts all three down whether `body` throws or not.
    private func withGateway(
        serving answer: JWKSServer.Answer, refresh: String = "10m", settings: JWKSFetcher.Settings = JWKSFetcher.Settings(),
        logger: Logger? = nil, _ body: (GatewayHarness, JWKSServer) async throws -> Void
    ) async throws {
        let server = try await JWKSServer.start(answer: answer)
        let upstream = try await UpstreamStub.start()
        let outcome: Result<Void, any Error>
        do {
            let gateway = try await GatewayHarness.start(
                yaml: Self.yaml(jwksURL: server.url, refresh: refresh), upstreamURL: upstream.url, logger: logger,
                jwks: settings)
            do {
                try await body(gateway, server)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            try? await gateway.shutdown()
        } catch {
            outcome = .failure(error)
        }
        try? await upstream.shutdown()
        try? await server.shutdown()
        try outcome.get()
    }

    private func get(_ gateway: GatewayHarness, _ token: String) async throws -> RawResponse {
        try await RevocationGateway.get(gateway, token: token)
    }

    private func readiness(_ gateway: GatewayHarness) async throws -> RawResponse {
        let client = try await RawHTTPClient.connect(port: try #require(gateway.adminPort))
        try await client.send("GET /readyz HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        let response = try await client.response()
        await client.close()
        return response
    }

    private func errorCode(_ response: RawResponse) -> String? {
        JSONValue.parse(response.body)?["error"]?.stringValue
    }

    private func statistics(_ gateway: GatewayHarness) -> JWKSStatistics {
        gateway.jwks.statistics(forIssuer: Self.issuer)
    }

    /// Waits for the first "jwks_url fetch failed" warning. A round logs its failures after it
    /// has counted them, so the failure count includes it by then.
    private func fetchFailure(loggedIn recorder: LogRecorder) async -> LogRecorder.Entry? {
        let isFailure: (LogRecorder.Entry) -> Bool = { $0.message.hasPrefix("jwks_url fetch failed") }
        guard await eventually({ recorder.recorded.contains(where: isFailure) }) else { return nil }
        return recorder.recorded.first(where: isFailure)
    }

    /// Waits until the gateway has installed `count` successful fetches.
    private func fetched(_ gateway: GatewayHarness, _ count: Int) async -> Bool {
        await eventually { statistics(gateway).fetchSuccesses >= count }
    }

    @Test("the refetch signal fires only for a token refused for want of its key, not a forged or a verified one")
    func missingKeySignal() throws {
        let verifier = try AuthTest.verifier(
            algorithms: [.ES256], keys: [.jwksURL(url: "http://127.0.0.1:9/jwks.json", refresh: .seconds(600))])
        let signals = Atomic<Int>(0)
        #expect(verifier.observeUnknownKeyIDs(forIssuer: Self.issuer) { signals.add(1, ordering: .relaxed) })
        func verify(_ token: String) -> AuthFailure? {
            AuthTest.failure(verifier.verify(token, expecting: .access, now: TokenFactory.now, cache: nil))
        }
        #expect(verify(Self.k1.token())?.code == .keysUnavailable)  // nothing fetched yet: the loop retries anyway
        #expect(signals.load(ordering: .relaxed) == 0)
        verifier.replaceRemoteKeys(forIssuer: Self.issuer, with: [JWTSigningKey(material: .p256(Self.k1.key), keyID: "k1").verificationKey])
        #expect(verify(Self.k1.token()) == nil)
        #expect(verify(Self.stranger.token(kid: "k1"))?.code == .invalidToken)  // a known kid, forged
        #expect(verify(Self.k1.token(kid: "renamed")) == nil)  // an unknown kid, verified by the other keys
        #expect(signals.load(ordering: .relaxed) == 0)
        #expect(verify(Self.stranger.token())?.code == .invalidToken)
        #expect(signals.load(ordering: .relaxed) == 1)
    }

    @Test("until the first fetch succeeds, readiness is 503 and the issuer's tokens get 503 keys_unavailable; then both work")
    func unavailableUntilFirstFetch() async throws {
        var settings = JWKSFetcher.Settings()
        settings.firstRetryDelay = .milliseconds(20)
        settings.maximumRetryDelay = .milliseconds(100)
        try await withGateway(serving: .status(500), settings: settings) { gateway, server in
            try await server.waitForRequests(count: 2)  // the first fetch and a retry
            let unready = try await readiness(gateway)
            #expect(unready.status == 503)
            #expect(unready.bodyText.contains("no keys yet for issuer \(Self.issuer)"), "\(unready.bodyText)")
            let refused = try await get(gateway, Self.k1.token())
            #expect(refused.status == 503)
            #expect(errorCode(refused) == "keys_unavailable")

            server.answer(with: Self.jwks(Self.k1))
            #expect(await fetched(gateway, 1))
            #expect(try await readiness(gateway).status == 200)
            #expect(try await get(gateway, Self.k1.token()).status == 200)
            #expect(statistics(gateway).fetchFailures >= 2)
        }
    }

    @Test("a token with a newly published kid is refused until the refetch it triggers, then accepted")
    func rotation() async throws {
        var settings = JWKSFetcher.Settings()
        settings.unknownKeyIDInterval = .zero
        try await withGateway(serving: Self.jwks(Self.k1), settings: settings) { gateway, server in
            #expect(await fetched(gateway, 1))
            #expect(try await get(gateway, Self.k1.token()).status == 200)

            server.answer(with: Self.jwks(Self.k1, Self.k2))
            let early = try await get(gateway, Self.k2.token())
            #expect(early.status == 401)
            #expect(errorCode(early) == "invalid_token")
            try await server.waitForRequests(count: 2)
            #expect(await fetched(gateway, 2))
            #expect(try await get(gateway, Self.k2.token()).status == 200)
            #expect(try await get(gateway, Self.k1.token()).status == 200)
            #expect(statistics(gateway).unknownKeyIDRefetches == 1)
        }
    }

    @Test("200 tokens with distinct unknown kids cause one refetch; the rest are suppressed within the 30 s window")
    func unknownKeyIDFlood() async throws {
        let clock = ManualUptime()
        var settings = JWKSFetcher.Settings()
        settings.rateLimitClock = { clock.now }
        try await withGateway(serving: Self.jwks(Self.k1), settings: settings) { gateway, server in
            #expect(await fetched(gateway, 1))
            clock.advance(by: .seconds(31))  // the start-up fetch is now outside the window
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for connection in 0..<4 {
                    group.addTask {
                        let client = try await RawHTTPClient.connect(port: gateway.port)
                        var statuses: [Int] = []
                        for index in 0..<50 {
                            let token = Self.stranger.token(kid: "flood-\(connection)-\(index)")
                            try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(token)\r\n\r\n")
                            statuses.append(try await client.response().status)
                        }
                        await client.close()
                        return statuses
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(statuses.count == 200)
            #expect(statuses.allSatisfy { $0 == 401 })
            #expect(statistics(gateway).unknownKeyIDRefetches == 1)
            #expect(statistics(gateway).unknownKeyIDSuppressed == 199)
            #expect(await fetched(gateway, 2))
            #expect(server.requestCount == 2)

            for index in 0..<20 {
                #expect(try await get(gateway, Self.stranger.token(kid: "late-\(index)")).status == 401)
            }
            #expect(statistics(gateway).unknownKeyIDRefetches == 1)
            #expect(statistics(gateway).unknownKeyIDSuppressed == 219)
            #expect(server.requestCount == 2)

            // The same counts on /metrics' registry.
            let samples = PrometheusSamples(String(decoding: gateway.runtime.metrics.render(), as: UTF8.self))
            let issuer = ["issuer": Self.issuer]
            #expect(samples["portcullis_jwks_fetches_total", issuer.merging(["result": "success"]) { a, _ in a }] == 2)
            #expect(samples["portcullis_jwks_unknown_kid_refetches_total", issuer.merging(["result": "started"]) { a, _ in a }] == 1)
            #expect(samples["portcullis_jwks_unknown_kid_refetches_total", issuer.merging(["result": "rate_limited"]) { a, _ in a }] == 219)
        }
    }

    enum Outage: String, CaseIterable, Sendable {
        case status500, connectionClosed, serverStopped
    }

    @Test("when the JWKS server fails, the last good keys keep verifying after the failed refresh", arguments: Outage.allCases)
    func failedRefreshKeepsKeys(outage: Outage) async throws {
        let recorder = LogRecorder()
        try await withGateway(serving: Self.jwks(Self.k1), refresh: "1s", logger: recorder.logger()) { gateway, server in
            #expect(await fetched(gateway, 1))
            let token = Self.k1.token()
            #expect(try await get(gateway, token).status == 200)
            switch outage {
            case .status500: server.answer(with: .status(500))
            case .connectionClosed: server.answer(with: .close)
            case .serverStopped: try await server.shutdown()
            }
            let failed = await fetchFailure(loggedIn: recorder)
            #expect(statistics(gateway).fetchFailures >= 1)
            // Fetches of one issuer run one after another: every success before the failure
            // is counted by now (a loaded machine may have refreshed once more before the outage).
            let successes = statistics(gateway).fetchSuccesses
            #expect(failed?.message == "jwks_url fetch failed; the last good key set stays in use")
            #expect(failed?.metadata["portcullis.reason"]?.contains("within") == false, "a refused connection fails at once")
            #expect(try await get(gateway, token).status == 200)
            #expect(try await get(gateway, Self.k1.token()).status == 200)
            #expect(try await readiness(gateway).status == 200)
            #expect(statistics(gateway).fetchSuccesses == successes)
        }
    }

    @Test("a key removed from the set stops verifying after the next fetch, even a token it verified before")
    func removedKey() async throws {
        var settings = JWKSFetcher.Settings()
        settings.unknownKeyIDInterval = .zero
        try await withGateway(serving: Self.jwks(Self.k1, Self.k2), settings: settings) { gateway, server in
            #expect(await fetched(gateway, 1))
            let old = Self.k1.token()
            #expect(try await get(gateway, old).status == 200)
            #expect(try await get(gateway, Self.k2.token()).status == 200)

            server.answer(with: Self.jwks(Self.k2))
            #expect(try await get(gateway, Self.stranger.token(kid: "k3")).status == 401)  // starts the next fetch
            #expect(await fetched(gateway, 2))
            let refused = try await get(gateway, old)
            #expect(refused.status == 401)
            #expect(errorCode(refused) == "invalid_token")
            #expect(try await get(gateway, Self.k2.token()).status == 200)
        }
    }

    @Test("an answer over the size limit, one that is not a JWKS, or one without a usable key is a failed fetch",
        arguments: ["too large", "not JSON", "no usable key"])
    func unusableAnswers(kind: String) async throws {
        var settings = JWKSFetcher.Settings()
        settings.maximumBodyBytes = 2048
        let answer: JWKSServer.Answer
        let reason: String
        switch kind {
        case "too large":
            guard case .body(let valid) = Self.jwks(Self.k1, Self.k2) else { return }
            answer = .body(valid + Array(repeating: UInt8(ascii: " "), count: 2048))  // valid JSON, over the limit
            reason = "the answer is larger than 2048 bytes"
        case "not JSON":
            answer = .body(Array("<html>down for maintenance</html>".utf8))
            reason = "the JWKS is not a JSON object"
        default:
            answer = .body(Array(#"{"keys":[{"kty":"EC","crv":"P-256","use":"enc","x":"AA","y":"AA"}]}"#.utf8))
            reason = "the JWKS has no usable signing key"
        }
        let recorder = LogRecorder()
        try await withGateway(serving: answer, settings: settings, logger: recorder.logger()) { gateway, server in
            try await server.waitForRequests(count: 1)
            let failed = await fetchFailure(loggedIn: recorder)
            #expect(statistics(gateway).fetchFailures >= 1)
            #expect(statistics(gateway).fetchSuccesses == 0)
            #expect(failed?.message == "jwks_url fetch failed; the issuer has no keys from it yet")
            #expect(failed?.metadata["portcullis.reason"] == reason)
            #expect(try await readiness(gateway).status == 503)
            #expect(try await get(gateway, Self.k1.token()).status == 503)
        }
    }

    @Test("a fetch is logged with issuer, URL and key count, a failure as a warning with its reason, never a key")
    func logging() async throws {
        let recorder = LogRecorder()
        var settings = JWKSFetcher.Settings()
        settings.unknownKeyIDInterval = .zero
        try await withGateway(serving: Self.jwks(Self.k1, Self.k2), settings: settings, logger: recorder.logger()) {
            gateway, server in
            #expect(await fetched(gateway, 1))
            server.answer(with: .status(503))
            #expect(try await get(gateway, Self.stranger.token(kid: "k3")).status == 401)
            let failedLine = try #require(await fetchFailure(loggedIn: recorder))
            #expect(statistics(gateway).fetchFailures >= 1)

            let fetchedLine = try #require(recorder.recorded.first { $0.message == "jwks_url fetched" })
            #expect(fetchedLine.level == .info)
            #expect(fetchedLine.metadata["portcullis.issuer"] == Self.issuer)
            #expect(fetchedLine.metadata["portcullis.jwks_url"] == server.url)
            #expect(fetchedLine.metadata["portcullis.keys"] == "2")
            #expect(failedLine.level == .warning)
            #expect(failedLine.message == "jwks_url fetch failed; the last good key set stays in use")
            #expect(failedLine.metadata["portcullis.reason"] == "HTTP status 503")
            #expect(failedLine.metadata["portcullis.jwks_url"] == server.url)
            for signer in [Self.k1, Self.k2] {
                guard case .object(let jwk) = signer.jwk, let x = jwk["x"]?.stringValue else { continue }
                #expect(!recorder.fullText.contains(x))
            }
        }
    }

    @Test("a reload with the same jwks_url keeps the fetched keys: no 503, never unready, no new fetch")
    func reloadKeepsKeys() async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-jwks")
        let server = try await JWKSServer.start(answer: Self.jwks(Self.k1))
        let upstream = try await UpstreamStub.start()
        defer {
            Task {
                try? await upstream.shutdown()
                try? await server.shutdown()
            }
        }
        let yaml = Self.yaml(jwksURL: server.url, refresh: "10m").replacingOccurrences(of: "{{UPSTREAM}}", with: upstream.url)
        let file = folder + "/gateway.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let gateway = try await GatewayHarness.start(yaml: yaml, directory: folder)
        do {
            #expect(await fetched(gateway, 1))
            server.answer(with: .status(500))  // a reload that needed a fetch would find no keys
            let reloader = ConfigReloader(
                file: file, pluginDirectory: BuiltPlugins.directory, box: gateway.runtime,
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), jwks: gateway.jwks)
            let load = SteadyLoad(port: gateway.port, token: Self.k1.token())
            for _ in 0..<5 {
                let before = gateway.runtime.runtime.verifier
                guard case .reloaded = reloader.reload() else {
                    Issue.record("the reload failed")
                    break
                }
                let after = gateway.runtime.runtime.verifier
                #expect(after !== before)
                #expect(after.issuersAwaitingKeys.isEmpty)
                #expect(try await get(gateway, Self.k1.token()).status == 200)
            }
            #expect(try await load.finish() == [])
            #expect(load.served.value > 0)
            #expect(try await readiness(gateway).status == 200)
            #expect(server.requestCount == 1)
            #expect(statistics(gateway) == JWKSStatistics(fetchSuccesses: 1))
        } catch {
            try? await gateway.shutdown()
            throw error
        }
        try await gateway.shutdown()
    }
}

/// A monotonic clock that moves only when told, for the unknown-`kid` rate limit.
final class ManualUptime: Sendable {
    private let nanoseconds = Atomic<Int64>(1_000_000_000_000)

    var now: NIODeadline { .uptimeNanoseconds(UInt64(nanoseconds.load(ordering: .acquiring))) }

    func advance(by amount: TimeAmount) {
        nanoseconds.add(amount.nanoseconds, ordering: .releasing)
    }
}
