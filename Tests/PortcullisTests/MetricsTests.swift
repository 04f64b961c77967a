import Foundation
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// `/metrics` on the admin listener (SPEC section 5): known traffic through a real gateway,
/// then one scrape, read back sample by sample.
@Suite("Metrics")
struct MetricsTests {
    private let tokens = RevocationGateway.tokens

    /// A gateway with an admin listener, the memory blocklist, the `api` route, and a route
    /// to an upstream nobody listens on.
    private func withGateway(_ body: (GatewayHarness, UpstreamStub) async throws -> Void) async throws {
        let dead = try RefusingLocalPort()
        defer { dead.close() }
        var yaml = "admin:\n  listen: 127.0.0.1:0\n" + RevocationGateway.yaml(blocklist: "plugin: memory")
        yaml = yaml.replacingOccurrences(
            of: "upstreams:\n", with: "upstreams:\n  dead:\n    url: http://127.0.0.1:\(dead.port)\n    connect_timeout: 2s\n"
        )
        yaml = yaml.replacingOccurrences(
            of: "routes:\n", with: "routes:\n  - name: gone\n    path: /gone\n    upstream: dead\n    auth: none\n"
        )
        try await GatewayHarness.withUpstream(yaml: yaml, body)
    }

    private func scrape(_ gateway: GatewayHarness) async throws -> (RawResponse, PrometheusSamples) {
        try await gateway.scrapeMetrics()
    }

    private func get(_ gateway: GatewayHarness, _ path: String, token: String?) async throws -> Int {
        let client = try await RawHTTPClient.connect(port: gateway.port)
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        try await client.send("GET \(path) HTTP/1.1\r\nHost: h\r\n\(authorization)Connection: close\r\n\r\n")
        let response = try await client.response()
        await client.close()
        return response.status
    }

    @Test("counters without labels and both reload results are exposed at 0 before any traffic")
    func zeroFromTheStart() async throws {
        try await withGateway { gateway, _ in
            let (response, samples) = try await scrape(gateway)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(samples["portcullis_revocation_errors_total"] == 0)
            #expect(samples["portcullis_config_reloads_total", ["result": "success"]] == 0)
            #expect(samples["portcullis_config_reloads_total", ["result": "failure"]] == 0)
            #expect(samples["portcullis_revocation_check_duration_seconds_count"] == 0)
        }
    }

    @Test("after known traffic: requests by route and code, auth decisions by result, durations, upstream errors")
    func countsKnownTraffic() async throws {
        try await withGateway { gateway, _ in
            let good = tokens.token()
            for _ in 0..<3 { #expect(try await get(gateway, "/api/items", token: good) == 200) }
            let revoked = tokens.token(jti: "metrics-revoked")
            let service = try #require(gateway.runtime.runtime.revocation)
            try service.plugin.revoke(RevocationToken(jti: "metrics-revoked", expiresAt: TokenFactory.now + 600))
            #expect(try await get(gateway, "/api/items", token: revoked) == 401)
            #expect(try await get(gateway, "/api/items", token: "not.a.token") == 401)
            #expect(try await get(gateway, "/api/items", token: good + "x") == 401)
            #expect(try await get(gateway, "/api/items", token: nil) == 401)
            #expect(try await get(gateway, "/nowhere", token: good) == 404)
            #expect(try await get(gateway, "/gone", token: nil) == 502)

            let (_, samples) = try await scrape(gateway)
            #expect(samples["portcullis_requests_total", ["route": "api", "code": "200"]] == 3)
            #expect(samples["portcullis_requests_total", ["route": "api", "code": "401"]] == 4)
            #expect(samples["portcullis_requests_total", ["route": "-", "code": "404"]] == 1)
            #expect(samples["portcullis_requests_total", ["route": "gone", "code": "502"]] == 1)
            #expect(samples["portcullis_auth_decisions_total", ["route": "api", "result": "allowed"]] == 3)
            #expect(samples["portcullis_auth_decisions_total", ["route": "api", "result": "token_revoked"]] == 1)
            #expect(samples["portcullis_auth_decisions_total", ["route": "api", "result": "invalid_token"]] == 2)
            #expect(samples["portcullis_auth_decisions_total", ["route": "api", "result": "missing_token"]] == 1)
            // A public route decides nothing.
            #expect(samples.names(startingWith: "portcullis_auth_decisions_total").allSatisfy { !$0.contains(#"route="gone""#) })
            #expect(samples["portcullis_request_duration_seconds_count", ["route": "api"]] == 7)
            #expect(samples["portcullis_request_duration_seconds_bucket", ["route": "api", "le": "10.0"]] == 7)
            #expect(samples["portcullis_request_duration_seconds_bucket", ["route": "api", "le": "0.0001"]] != nil)
            // Only the four verified tokens reach the blocklist.
            #expect(samples["portcullis_revocation_check_duration_seconds_count"] == 4)
            #expect(samples["portcullis_revocation_errors_total"] == 0)
            #expect(samples["portcullis_upstream_errors_total", ["upstream": "dead", "kind": "connect"]] == 1)
            #expect(samples["portcullis_token_cache_lookups_total", ["result": "hit"]] == 2)
            // Labels are bounded: no raw path or subject anywhere.
            #expect(!samples.text.contains("/nowhere") && !samples.text.contains("user-1"))
        }
    }

    @Test("reloads are counted by result")
    func reloadsCounted() async throws {
        let folder = try CPluginCompiler.temporaryDirectory("portcullis-metrics")
        let file = folder + "/gateway.yaml"
        let yaml = RevocationGateway.yaml(blocklist: "plugin: memory").replacingOccurrences(of: "{{UPSTREAM}}", with: "http://127.0.0.1:9")
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let box = RuntimeBox(try GatewayRuntime.build(ConfigLoader.load(file: file)))
        let reloader = ConfigReloader(file: file, pluginDirectory: BuiltPlugins.directory, box: box, logger: .init(label: "test"))
        #expect(reloader.reload() == .reloaded(pluginReplaced: true))
        try "server: [".write(toFile: file, atomically: true, encoding: .utf8)
        if case .reloaded = reloader.reload() { Issue.record("a broken file reloaded") }
        #expect(reloader.reload() != .reloaded(pluginReplaced: false))
        let samples = PrometheusSamples(String(decoding: box.metrics.render(), as: UTF8.self))
        #expect(samples["portcullis_config_reloads_total", ["result": "success"]] == 1)
        #expect(samples["portcullis_config_reloads_total", ["result": "failure"]] == 2)
        box.runtime.revocation?.shutdown()
    }
}

/// The samples of a Prometheus text exposition, by name and label set.
extension GatewayHarness {
    /// One `GET /metrics` on the admin listener (the config needs an `admin` section).
    func scrapeMetrics() async throws -> (RawResponse, PrometheusSamples) {
        let client = try await RawHTTPClient.connect(port: try #require(adminPort))
        try await client.send("GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        let response = try await client.response()
        await client.close()
        return (response, PrometheusSamples(response.bodyText))
    }
}

struct PrometheusSamples {
    let text: String
    private var values: [String: Double] = [:]

    init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[Self.key(String(line[..<space]))] = value
        }
    }

    /// The value of `name` with exactly `labels`, or nil when there is no such sample.
    subscript(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let rendered = labels.isEmpty ? name : name + "{" + labels.map { #"\#($0.key)="\#($0.value)""# }.joined(separator: ",") + "}"
        return values[Self.key(rendered)]
    }

    func names(startingWith prefix: String) -> [String] {
        values.keys.filter { $0.hasPrefix(prefix) }
    }

    /// `name{b="2",a="1"}` and `name{a="1",b="2"}` are one sample.
    private static func key(_ sample: String) -> String {
        guard let open = sample.firstIndex(of: "{"), sample.hasSuffix("}") else { return sample }
        let labels = sample[sample.index(after: open)..<sample.index(before: sample.endIndex)]
            .split(separator: ",").map(String.init).sorted()
        return String(sample[..<open]) + "{" + labels.joined(separator: ",") + "}"
    }
}
