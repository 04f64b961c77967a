import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// SIGHUP and `POST /admin/reload` (SPEC section 6): a valid file replaces the config, a broken
/// one leaves the running config alone, and the blocklist plugin is replaced only when its
/// section changed.
@Suite("Config reload")
struct ReloadTests {
    private let tokens = RevocationGateway.tokens

    /// The shared test config, with an extra route `/v2/` when `withV2`, an admin listener,
    /// and `blocklist` as given.
    private func yaml(upstream: String, withV2: Bool = false, blocklist: String = "plugin: memory") -> String {
        var text = RevocationGateway.yaml(blocklist: blocklist)
            .replacingOccurrences(of: "{{UPSTREAM}}", with: upstream)
        if withV2 {
            text = text.replacingOccurrences(
                of: "routes:\n", with: "routes:\n  - name: v2\n    path_prefix: /v2/\n    upstream: app\n"
            )
        }
        return text
    }

    private func status(_ port: Int, _ path: String) async throws -> Int {
        let client = try await RawHTTPClient.connect(port: port)
        try await client.send(
            "GET \(path) HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(tokens.token())\r\nConnection: close\r\n\r\n"
        )
        let response = try await client.response()
        await client.close()
        return response.status
    }

    @Test("SIGHUP applies a changed config to new requests; a broken file keeps the old one and logs its position")
    func sighup() async throws {
        let upstream = try await UpstreamStub.start(behavior: .echo)
        defer { Task { try? await upstream.shutdown() } }
        let base = yaml(upstream: upstream.url).replacingOccurrences(of: "127.0.0.1:0", with: "{{LISTEN}}")
        let gateway = try GatewayProcess(yaml: base)
        defer { gateway.stop() }
        #expect(try await status(gateway.port, "/v2/x") == 404)

        try gateway.rewrite(yaml: yaml(upstream: upstream.url, withV2: true).replacingOccurrences(of: "127.0.0.1:0", with: "{{LISTEN}}"))
        gateway.send(SIGHUP)
        #expect(try await eventually { try await status(gateway.port, "/v2/x") == 200 })

        try gateway.rewrite(yaml: "server:\n  listen: {{LISTEN}}\n  bogus_key: 1\n")
        gateway.send(SIGHUP)
        // One log line per error, in position order: 1:1 (the missing `jwt`) comes before 3:3.
        #expect(await eventually { gateway.log.contains("config reload failed") })
        #expect(await eventually { gateway.log.contains("gateway.yaml:3:3:") })
        #expect(try await status(gateway.port, "/v2/x") == 200)
        #expect(try await status(gateway.port, "/api/x") == 200)
    }

    @Test("a client sending requests without pause sees no failure while the config is reloaded 10 times")
    func reloadUnderLoad() async throws {
        let upstream = try await UpstreamStub.start(behavior: .echo)
        defer { Task { try? await upstream.shutdown() } }
        func config(_ withV2: Bool) -> String {
            yaml(upstream: upstream.url, withV2: withV2).replacingOccurrences(of: "127.0.0.1:0", with: "{{LISTEN}}")
        }
        let gateway = try GatewayProcess(yaml: config(false))
        defer { gateway.stop() }
        let load = SteadyLoad(port: gateway.port, token: tokens.token())
        let served = load.served
        for round in 1...10 {
            // Requests keep flowing between every two reloads.
            let before = served.value
            #expect(await eventually { served.value > before })
            try gateway.rewrite(yaml: config(round % 2 == 1))
            gateway.send(SIGHUP)
            #expect(await eventually { gateway.log.components(separatedBy: "config reloaded").count - 1 == round })
        }
        let last = served.value
        #expect(await eventually { served.value > last })
        #expect(try await load.finish() == [])
        #expect(served.value >= 11)
    }

    @Test("a request in flight to a slow upstream completes under the old config across a reload that removes its route")
    func inFlightAcrossReload() async throws {
        let upstream = try await UpstreamStub.start(behavior: .delay(.seconds(1)))
        defer { Task { try? await upstream.shutdown() } }
        func config(_ withV2: Bool) -> String {
            yaml(upstream: upstream.url, withV2: withV2).replacingOccurrences(of: "127.0.0.1:0", with: "{{LISTEN}}")
        }
        let gateway = try GatewayProcess(yaml: config(true))
        defer { gateway.stop() }
        let slow = try await RawHTTPClient.connect(port: gateway.port)
        try await slow.send("GET /v2/slow HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(tokens.token())\r\n\r\n")
        _ = try await upstream.waitForRequests(count: 1, timeout: .seconds(10))

        try gateway.rewrite(yaml: config(false))
        gateway.send(SIGHUP)
        #expect(await eventually { gateway.log.contains("config reloaded") })
        #expect(try await status(gateway.port, "/v2/x") == 404)
        let answer = try await slow.response()
        #expect(answer.status == 200)
        await slow.close()
    }

    @Test("POST /admin/reload answers 200 reloaded, or 400 invalid_config with the position and the old config kept")
    func adminReload() async throws {
        let upstream = try await UpstreamStub.start(behavior: .echo)
        defer { Task { try? await upstream.shutdown() } }
        let admin = "admin:\n  listen: {{ADMIN}}\n  token: reload-admin-token\n"
        let adminPort = try freeLocalPort()
        func config(withV2: Bool) -> String {
            (admin + yaml(upstream: upstream.url, withV2: withV2))
                .replacingOccurrences(of: "127.0.0.1:0", with: "{{LISTEN}}")
                .replacingOccurrences(of: "{{ADMIN}}", with: "127.0.0.1:\(adminPort)")
        }
        let gateway = try GatewayProcess(yaml: config(withV2: false))
        defer { gateway.stop() }
        func reload() async throws -> RawResponse {
            let client = try await RawHTTPClient.connect(port: adminPort)
            try await client.send(
                "POST /admin/reload HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer reload-admin-token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            let response = try await client.response()
            await client.close()
            return response
        }
        #expect(await eventually { (try? await status(adminPort, "/healthz")) == 200 })
        try gateway.rewrite(yaml: config(withV2: true))
        let reloaded = try await reload()
        #expect(reloaded.status == 200)
        #expect(JSONValue.parse(reloaded.body) == .object(["reloaded": .bool(true)]))
        #expect(try await status(gateway.port, "/v2/x") == 200)

        try gateway.rewrite(yaml: config(withV2: false).replacingOccurrences(of: "routes:", with: "routes: [", options: [], range: nil))
        let refused = try await reload()
        #expect(refused.status == 400)
        #expect(refused.bodyText.contains(#""error":"invalid_config""#))
        #expect(refused.bodyText.contains("gateway.yaml:"))
        #expect(try await status(gateway.port, "/v2/x") == 200)
    }

    @Test("the plugin is kept when the blocklist section is unchanged, and replaced and destroyed when it changed")
    func pluginKeptOrReplaced() async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-reload")
        let probe = try ProbePlugin.build(["DELAY_MS=300"])
        let file = "\(folder)/gateway.yaml"
        let recorder = LogRecorder()
        let logger = recorder.logger(level: .info)
        try yaml(upstream: "http://127.0.0.1:9", blocklist: "plugin: \(probe)\ntimeout: 5s")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(file: file)
        let box = RuntimeBox(try GatewayRuntime.build(config).with(revocation: try RevocationService.load(config, pluginDirectory: nil, logger: logger)))
        let reloader = ConfigReloader(file: file, pluginDirectory: BuiltPlugins.directory, box: box, logger: logger)
        weak let first = box.runtime.revocation

        // Unchanged section (a route added elsewhere): the same service.
        try yaml(upstream: "http://127.0.0.1:9", withV2: true, blocklist: "plugin: \(probe)\ntimeout: 5s")
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(reloader.reload() == .reloaded(pluginReplaced: false))
        #expect(box.runtime.revocation === first)

        // A check in flight on the old plugin while the section changes.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let inFlight: EventLoopFuture<RevocationService.Outcome>
        do {  // no strong reference to the old service outlives this block
            let service = try #require(first)
            inFlight = loop.flatSubmit { () -> EventLoopFuture<RevocationService.Outcome> in
                switch service.check(RevocationToken(jti: "revoked-1"), on: loop) {
                case .pending(let future): return future
                case .done(let outcome): return loop.makeSucceededFuture(outcome)
                }
            }
        }
        try yaml(upstream: "http://127.0.0.1:9", withV2: true, blocklist: "plugin: memory")
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(reloader.reload() == .reloaded(pluginReplaced: true))
        #expect(box.runtime.revocation?.plugin.name == "memory")
        #expect(try await inFlight.get() == .revoked)
        #expect(await eventually { recorder.messages.contains("destroyed") })
        #expect(first == nil)
        #expect(reloader.counts.successes == 2)
        box.runtime.revocation?.shutdown()
    }
}

/// One keep-alive client sending `GET /api/x` with `token` without pause until `finish()`;
/// counts the 200s as they come and returns every other status.
final class SteadyLoad: Sendable {
    let served = ManagedCounter()
    private let stop = ManagedFlag()
    private let task: Task<[Int], any Error>

    init(port: Int, token: String) {
        let (served, stop) = (self.served, self.stop)
        task = Task {
            var failed: [Int] = []
            let client = try await RawHTTPClient.connect(port: port)
            while !stop.isSet {
                try await client.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(token)\r\n\r\n")
                let status = try await client.response().status
                if status == 200 { served.increment() } else { failed.append(status) }
            }
            await client.close()
            return failed
        }
    }

    /// Stops the client and returns the statuses that were not 200.
    func finish() async throws -> [Int] {
        stop.set()
        return try await task.value
    }
}

/// A flag one task sets and another polls.
final class ManagedFlag: Sendable {
    private let value = NIOLockedValueBox(false)
    var isSet: Bool { value.withLockedValue { $0 } }
    func set() { value.withLockedValue { $0 = true } }
}

/// A count one task increments and another reads.
final class ManagedCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    var value: Int { count.withLockedValue { $0 } }
    func increment() { count.withLockedValue { $0 += 1 } }
}
