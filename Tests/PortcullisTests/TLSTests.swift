import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PortcullisTestSupport
import Testing

@testable import Portcullis

/// `server.tls` and https upstreams over real sockets, with certificates from a throwaway CA
/// made by the openssl command line.
@Suite("TLS: the listener and https upstreams")
struct TLSTests {
    private let tokens = TokenFactory()

    /// A gateway config; with `tls`, the listener serves `server.pem`/`server.key` of the config
    /// folder. Lines 4 and 5 hold the certificate and key values (column 18), and line 17 the
    /// `ca_file` value (column 14) when there is one.
    private func yaml(
        upstream: String, tls: Bool = true, caFile: String? = nil, connectTimeout: String = "2s",
        headerTimeout: String? = nil
    ) -> String {
        let server =
            tls
            ? "server:\n  listen: 127.0.0.1:0\n  tls:\n    certificate: server.pem\n    private_key: server.key\n"
            : "server:\n  listen: 127.0.0.1:0\n\n\n\n"
        return server + (headerTimeout.map { "  header_timeout: \($0)\n" } ?? "") + """
            jwt:
              issuers:
                - issuer: https://issuer.test
                  audiences: [test-api]
                  algorithms: [HS256]
                  keys:
                    - secret: test-secret-0123456789abcdef0123456789abcdef
            upstreams:
              app:
                url: \(upstream)
                connect_timeout: \(connectTimeout)

            """ + (caFile.map { "    ca_file: \($0)\n" } ?? "") + """
            routes:
              - name: api
                path_prefix: /api/
                upstream: app

            """
    }

    /// Makes `issued` the certificate and key the config names (`server.pem`, `server.key`).
    private func install(_ issued: TestPKI.Issued, in pki: TestPKI) throws {
        for (from, to) in [(issued.certificatePath, "server.pem"), (issued.keyPath, "server.key")] {
            try Data(contentsOf: URL(fileURLWithPath: from)).write(to: URL(fileURLWithPath: "\(pki.directory)/\(to)"))
        }
    }

    private func get(_ client: RawHTTPClient, _ path: String = "/api/x") async throws -> RawResponse {
        try await client.send("GET \(path) HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(tokens.token())\r\n\r\n")
        return try await client.response()
    }

    private func serial(_ certificate: NIOSSLCertificate?) -> Int? {
        certificate.map { $0.serialNumber.reduce(0) { $0 << 8 | Int($1) } }
    }

    // MARK: Listener

    @Test("a request over TLS is authorized and proxied; the upstream sees X-Forwarded-Proto: https")
    func listenerProxiesOverTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let server = try pki.issue("first", serial: 1001)
        try install(server, in: pki)
        try await GatewayHarness.withUpstream(yaml: yaml(upstream: "{{UPSTREAM}}"), directory: pki.directory) { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port, tls: try pki.clientContext())
            #expect(client.peerCertificate == (try server.certificate()))
            let response = try await get(client)
            #expect(response.status == 200)
            let seen = try await upstream.waitForRequests(count: 1, timeout: .seconds(5))
            #expect(seen.first?.header("X-Forwarded-Proto") == "https")
            // Keep-alive through TLS: a second request on the same connection.
            #expect(try await get(client, "/api/y").status == 200)
            await client.close()
        }
    }

    @Test("request and response bodies of 8 MiB stream through the TLS listener intact")
    func bodiesStreamThroughTLS() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try install(try pki.issue("first", serial: 1001), in: pki)
        let size = 8 * 1024 * 1024
        let config = yaml(upstream: "{{UPSTREAM}}")
        try await GatewayHarness.withUpstream(yaml: config, directory: pki.directory) { gateway, upstream in
            let client = try await RawHTTPClient.connect(port: gateway.port, tls: try pki.clientContext(), keepBody: false)
            let auth = "Authorization: Bearer \(tokens.token())\r\n"
            try await client.send("PUT /api/upload HTTP/1.1\r\nHost: h\r\n\(auth)Content-Length: \(size)\r\n\r\n")
            try await client.sendPattern(count: size)
            #expect(try await client.response(timeout: .seconds(60)).status == 200)
            let seen = try await upstream.waitForRequests(count: 1, timeout: .seconds(10))
            #expect(seen.first?.bodyBytes == size)
            #expect(seen.first?.bodyChecksum == fnv1a(count: size))
            await client.close()
        }
        try await GatewayHarness.withUpstream(yaml: config, behavior: .stream(bytes: size), directory: pki.directory) { gateway, _ in
            let client = try await RawHTTPClient.connect(port: gateway.port, tls: try pki.clientContext(), keepBody: false)
            try await client.send("GET /api/download HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(tokens.token())\r\n\r\n")
            let response = try await client.response(timeout: .seconds(60))
            #expect(response.status == 200)
            #expect(response.bodyBytes == size)
            #expect(response.bodyChecksum == fnv1a(count: size))
            await client.close()
        }
    }

    @Test("plain HTTP or an untrusting client gets no HTTP answer from the TLS listener, which logs no warning and keeps serving")
    func handshakeFailuresCloseOnlyThatConnection() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try install(try pki.issue("first", serial: 1001), in: pki)
        let other = try TestPKI(commonName: "Some Other CA")
        defer { other.remove() }
        let recorder = LogRecorder()
        let config = yaml(upstream: "{{UPSTREAM}}")
        try await GatewayHarness.withUpstream(yaml: config, directory: pki.directory, logger: recorder.logger()) { gateway, upstream in
            let plain = try await RawHTTPClient.connect(port: gateway.port)
            try await plain.send("GET /api/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer \(tokens.token())\r\n\r\n")
            do {
                let answer = try await plain.response()
                Issue.record("plain HTTP got an answer: \(answer.status)")
            } catch RawClientError.closed {
                // Closed without a complete HTTP response head.
            }
            await #expect(throws: NIOSSLError.self) {
                _ = try await RawHTTPClient.connect(port: gateway.port, tls: try other.clientContext())
            }

            let client = try await RawHTTPClient.connect(port: gateway.port, tls: try pki.clientContext())
            #expect(try await get(client).status == 200)
            await client.close()
            #expect(upstream.requests.count == 1)
            #expect(recorder.recorded.filter { $0.level >= .warning }.map(\.message) == [])
        }
    }

    @Test("a connection that never starts its TLS handshake is closed at header_timeout")
    func silentConnectionClosedAtHeaderTimeout() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try install(try pki.issue("first", serial: 1001), in: pki)
        let config = yaml(upstream: "{{UPSTREAM}}", headerTimeout: "300ms")
        try await GatewayHarness.withUpstream(yaml: config, directory: pki.directory) { gateway, _ in
            let start = ContinuousClock.now
            let silent = try await RawHTTPClient.connect(port: gateway.port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await silent.waitForClose() }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    throw RawClientError.timedOut
                }
                defer { group.cancelAll() }
                try await group.next()
            }
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    // MARK: Reload

    @Test("a reload serves a rewritten certificate to new connections; an invalid one keeps the old and reports its position")
    func reloadReplacesCertificate() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let first = try pki.issue("first", serial: 1001)
        let second = try pki.issue("second", commonName: "localhost-2", serial: 1002)
        try install(first, in: pki)
        let file = "\(pki.directory)/gateway.yaml"
        try await GatewayHarness.withUpstream(yaml: yaml(upstream: "{{UPSTREAM}}"), directory: pki.directory) { gateway, upstream in
            try yaml(upstream: upstream.url).write(toFile: file, atomically: true, encoding: .utf8)
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            let reloader = ConfigReloader(file: file, pluginDirectory: BuiltPlugins.directory, box: gateway.runtime, logger: logger)
            let trust = try pki.clientContext()

            let before = try await RawHTTPClient.connect(port: gateway.port, tls: trust)
            #expect(serial(before.peerCertificate) == 1001)
            #expect(try await get(before).status == 200)

            try install(second, in: pki)
            #expect(reloader.reload() == .reloaded(pluginReplaced: false))
            let after = try await RawHTTPClient.connect(port: gateway.port, tls: trust)
            #expect(serial(after.peerCertificate) == 1002)
            #expect(after.peerCertificate == (try second.certificate()))
            #expect(try await get(after).status == 200)
            // The connection made before the reload keeps its session.
            #expect(try await get(before).status == 200)

            let certificatePath = "\(pki.directory)/server.pem"
            try "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
                .write(toFile: certificatePath, atomically: true, encoding: .utf8)
            #expect(
                reloader.reload()
                    == .failed(["\(file):4:18: server.tls.certificate: '\(certificatePath)' holds no valid PEM certificate"])
            )
            let still = try await RawHTTPClient.connect(port: gateway.port, tls: trust)
            #expect(serial(still.peerCertificate) == 1002)
            #expect(try await get(still).status == 200)
            for client in [before, after, still] { await client.close() }
        }
    }

    // MARK: Config errors

    /// The errors of loading and building `yaml` written to `folder/gateway.yaml`.
    private func errors(_ yaml: String, in folder: String) throws -> [String] {
        let file = "\(folder)/gateway.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try GatewayRuntime.build(try ConfigLoader.load(file: file))
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("a missing certificate file is an error at the certificate value")
    func missingCertificate() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let issued = try pki.issue("first", serial: 1001)
        try install(issued, in: pki)
        try FileManager.default.removeItem(atPath: "\(pki.directory)/server.pem")
        let file = "\(pki.directory)/gateway.yaml"
        #expect(
            try errors(yaml(upstream: "http://127.0.0.1:9"), in: pki.directory)
                == ["\(file):4:18: server.tls.certificate: cannot read '\(pki.directory)/server.pem': No such file or directory"]
        )
    }

    @Test("a private key that does not match the certificate is an error at the private_key value")
    func keyNotMatchingCertificate() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try install(try pki.issue("first", serial: 1001), in: pki)
        let other = try pki.issue("second", serial: 1002)
        try Data(contentsOf: URL(fileURLWithPath: other.keyPath)).write(to: URL(fileURLWithPath: "\(pki.directory)/server.key"))
        let file = "\(pki.directory)/gateway.yaml"
        #expect(
            try errors(yaml(upstream: "http://127.0.0.1:9"), in: pki.directory) == [
                "\(file):5:18: server.tls.private_key: the key in '\(pki.directory)/server.key' does not match the certificate in '\(pki.directory)/server.pem'"
            ]
        )
    }

    @Test("a private key file that holds no key is an error at the private_key value")
    func invalidPrivateKey() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try install(try pki.issue("first", serial: 1001), in: pki)
        try "not a key\n".write(toFile: "\(pki.directory)/server.key", atomically: true, encoding: .utf8)
        let file = "\(pki.directory)/gateway.yaml"
        #expect(
            try errors(yaml(upstream: "http://127.0.0.1:9"), in: pki.directory)
                == ["\(file):5:18: server.tls.private_key: '\(pki.directory)/server.key' is not an unencrypted PEM private key"]
        )
    }

    @Test("a ca_file without a certificate is an error at the ca_file value")
    func invalidCAFile() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try install(try pki.issue("first", serial: 1001), in: pki)
        try "just text\n".write(toFile: "\(pki.directory)/bad-ca.pem", atomically: true, encoding: .utf8)
        let file = "\(pki.directory)/gateway.yaml"
        #expect(
            try errors(yaml(upstream: "https://localhost:9443", caFile: "bad-ca.pem"), in: pki.directory)
                == ["\(file):17:14: upstreams.app.ca_file: '\(pki.directory)/bad-ca.pem' holds no valid PEM certificate"]
        )
    }

    // MARK: https upstreams

    /// A plain-HTTP gateway in front of `upstream`, answering one GET /api/x.
    private func statusThroughGateway(
        to url: String, caFile: String?, in pki: TestPKI, connectTimeout: String = "2s"
    ) async throws -> RawResponse {
        let gateway = try await GatewayHarness.start(
            yaml: yaml(upstream: url, tls: false, caFile: caFile, connectTimeout: connectTimeout), directory: pki.directory
        )
        do {
            let client = try await RawHTTPClient.connect(port: gateway.port)
            let response = try await get(client)
            await client.close()
            try await gateway.shutdown()
            return response
        } catch {
            try? await gateway.shutdown()
            throw error
        }
    }

    @Test("an https upstream whose certificate chains to ca_file is reached by host name (SNI sent) and by IP address (no SNI)")
    func httpsUpstreamTrustingCAFile() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let names = NIOLockedValueBox<[String?]>([])
        let tls = try pki.serverContext(try pki.issue("upstream", serial: 2001), serverNames: names)
        let upstream = try await UpstreamStub.start(tls: tls)
        defer { Task { try? await upstream.shutdown() } }

        let byName = try await statusThroughGateway(to: "https://localhost:\(upstream.port)", caFile: "ca.pem", in: pki)
        #expect(byName.status == 200)
        let byAddress = try await statusThroughGateway(to: "https://127.0.0.1:\(upstream.port)", caFile: "ca.pem", in: pki)
        #expect(byAddress.status == 200)
        let seen = try await upstream.waitForRequests(count: 2, timeout: .seconds(5))
        #expect(seen.map(\.uri) == ["/api/x", "/api/x"])
        #expect(names.withLockedValue { $0 } == ["localhost", nil])
    }

    private static let badGatewayBody: JSONValue = .object([
        "error": "bad_gateway", "message": "The upstream service could not be reached.",
    ])

    @Test("an https upstream whose CA is not in the system trust store gets 502 bad_gateway")
    func httpsUpstreamUntrusted() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let upstream = try await UpstreamStub.start(tls: try pki.serverContext(try pki.issue("upstream", serial: 2001)))
        defer { Task { try? await upstream.shutdown() } }
        let response = try await statusThroughGateway(to: "https://localhost:\(upstream.port)", caFile: nil, in: pki)
        #expect(response.status == 502)
        #expect(JSONValue.parse(response.body) == Self.badGatewayBody)
        #expect(upstream.requests.isEmpty)
    }

    @Test("an https upstream presenting a certificate for another host name gets 502 bad_gateway")
    func httpsUpstreamWrongHostName() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let issued = try pki.issue("upstream", commonName: "other.example", subjectAltNames: "DNS:other.example", serial: 2001)
        let upstream = try await UpstreamStub.start(tls: try pki.serverContext(issued))
        defer { Task { try? await upstream.shutdown() } }
        let response = try await statusThroughGateway(to: "https://localhost:\(upstream.port)", caFile: "ca.pem", in: pki)
        #expect(response.status == 502)
        #expect(JSONValue.parse(response.body) == Self.badGatewayBody)
        #expect(upstream.requests.isEmpty)
    }

    /// An https upstream that answers the first request head with `response` (nothing when
    /// nil) and then drops the TCP connection without sending TLS close_notify.
    private func droppingUpstream(_ pki: TestPKI, response: String?) async throws -> any Channel {
        let tls = try pki.serverContext(try pki.issue("upstream", serial: 2001))
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(RawCloser())
                    try pipeline.addHandler(NIOSSLServerHandler(context: tls))
                    try pipeline.addHandler(AnswerThenDrop(response: response))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    @Test("an https upstream that drops the connection without close_notify before answering gets 502")
    func httpsUpstreamDropsBeforeAnswer() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let upstream = try await droppingUpstream(pki, response: nil)
        let port = try #require(upstream.localAddress?.port)
        let response = try await statusThroughGateway(to: "https://localhost:\(port)", caFile: "ca.pem", in: pki)
        #expect(response.status == 502)
        #expect(JSONValue.parse(response.body) == Self.badGatewayBody)
        try await upstream.close()
    }

    @Test("a response delimited by the https upstream's close arrives whole, close_notify or not")
    func httpsUpstreamCloseDelimitedResponse() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let body = String(repeating: "until close. ", count: 1000)
        let upstream = try await droppingUpstream(pki, response: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
        let port = try #require(upstream.localAddress?.port)
        let response = try await statusThroughGateway(to: "https://localhost:\(port)", caFile: "ca.pem", in: pki)
        #expect(response.status == 200)
        #expect(response.bodyText == body)
        try await upstream.close()
    }

    @Test("an https upstream that accepts but never completes the handshake gets 504 after connect_timeout")
    func httpsUpstreamHandshakeTimeout() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // Accepts connections and never writes a byte.
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { $0.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = try #require(silent.localAddress?.port)
        let start = ContinuousClock.now
        let response = try await statusThroughGateway(
            to: "https://localhost:\(port)", caFile: "ca.pem", in: pki, connectTimeout: "300ms"
        )
        #expect(response.status == 504)
        #expect(JSONValue.parse(response.body)?["error"] == "gateway_timeout")
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        try await silent.close()
    }
}

/// First in an upstream's pipeline: closing through it shuts the TCP connection under
/// NIOSSL, so no close_notify is sent (a peer that just drops the connection).
private final class RawCloser: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
}

/// Reads one request head, writes `response` (if any), then closes through `RawCloser`.
private final class AnswerThenDrop: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let response: String?
    private var received = ""

    init(response: String?) {
        self.response = response
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
        guard received.contains("\r\n\r\n") else { return }
        received = ""
        guard let raw = try? context.pipeline.syncOperations.context(handlerType: RawCloser.self) else { return }
        guard let response else {
            raw.close(promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).assumeIsolated().whenComplete { _ in
            raw.close(promise: nil)
        }
    }
}
