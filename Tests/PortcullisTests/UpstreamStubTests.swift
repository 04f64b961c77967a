import NIOCore
import NIOHTTP1
import NIOPosix
import PortcullisTestSupport
import Testing

@testable import Portcullis

@Suite("Upstream stub")
struct UpstreamStubTests {
    @Test("records a request with a streamed body by its byte count and checksum")
    func recordsBody() async throws {
        let stub = try await UpstreamStub.start()
        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let response = try await StubTestClient.withConnection(port: stub.port) { connection in
            try await connection.send(
                method: .POST, uri: "/upload?x=1", headers: [("X-Test", "one"), ("x-test", "two")], body: body)
        }
        try await stub.shutdown()

        #expect(response?.status == 200)
        let recorded = try #require(stub.requests.first)
        #expect(stub.requests.count == 1)
        #expect(recorded.method == "POST")
        #expect(recorded.uri == "/upload?x=1")
        #expect(recorded.bodyBytes == body.count)
        #expect(recorded.bodyChecksum == fnv1a64(body))
        #expect(recorded.header("x-TEST") == "one")
        #expect(recorded.headers(named: "X-Test") == ["one", "two"])
        #expect(recorded.header("X-Missing") == nil)
    }

    @Test("echoes method, target, headers and body size as JSON")
    func echoesJSON() async throws {
        let stub = try await UpstreamStub.start(behavior: .echo)
        let response = try await StubTestClient.withConnection(port: stub.port) { connection in
            try await connection.send(method: .PUT, uri: "/a/b", headers: [("X-Test", "v")], body: Array("hello".utf8))
        }
        try await stub.shutdown()

        let answered = try #require(response)
        let echo = try #require(JSONValue.parse(answered.body))
        #expect(answered.header("content-type") == "application/json")
        #expect(echo["method"] == "PUT")
        #expect(echo["uri"] == "/a/b")
        #expect(echo["body_bytes"] == 5)
        #expect(echo["body_checksum"] == .string(String(fnv1a64(Array("hello".utf8)), radix: 16)))
        guard case .array(let headers)? = echo["headers"] else {
            Issue.record("no headers array in \(echo)")
            return
        }
        #expect(headers.contains(.array(["X-Test", "v"])))
    }

    @Test("streams a sized body of the deterministic pattern")
    func streamsPattern() async throws {
        let size = 3 * 1024 * 1024 + 17
        let stub = try await UpstreamStub.start(behavior: .stream(bytes: size))
        let response = try await StubTestClient.withConnection(port: stub.port) { connection in
            try await connection.send(method: .GET, uri: "/download", keepBody: false)
        }
        try await stub.shutdown()

        #expect(response?.status == 200)
        #expect(response?.header("Content-Length") == "\(size)")
        #expect(response?.bodyBytes == size)
        #expect(response?.bodyChecksum == UpstreamStub.streamChecksum(count: size))
    }

    @Test("answers with the configured status")
    func answersStatus() async throws {
        let stub = try await UpstreamStub.start(behavior: .status(503))
        let response = try await StubTestClient.withConnection(port: stub.port) { connection in
            try await connection.send(method: .GET, uri: "/")
        }
        try await stub.shutdown()
        #expect(response?.status == 503)
        #expect(response?.body == Array(#"{"status":503}"#.utf8))
    }

    @Test("waits the configured delay before answering")
    func delaysAnswer() async throws {
        let stub = try await UpstreamStub.start(behavior: .delay(.milliseconds(300)))
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await StubTestClient.withConnection(port: stub.port) { connection in
            try await connection.send(method: .GET, uri: "/slow")
        }
        let elapsed = clock.now - start
        try await stub.shutdown()
        #expect(response?.status == 200)
        #expect(elapsed >= .milliseconds(300))
    }

    @Test("closes the connection on a request head without answering, and records the request")
    func closesImmediately() async throws {
        let stub = try await UpstreamStub.start(behavior: .closeImmediately)
        let response = try? await StubTestClient.withConnection(port: stub.port) { connection in
            try await connection.send(method: .GET, uri: "/gone")
        }
        let recorded = try await stub.waitForRequests(count: 1, timeout: .seconds(5))
        try await stub.shutdown()
        #expect(response == nil)
        #expect(recorded.map(\.uri) == ["/gone"])
    }

    @Test("serves several requests on one keep-alive connection")
    func keepAlive() async throws {
        let stub = try await UpstreamStub.start()
        let statuses = try await StubTestClient.withConnection(port: stub.port) { connection in
            var statuses: [Int?] = []
            for index in 0..<3 {
                statuses.append(try await connection.send(method: .GET, uri: "/\(index)")?.status)
            }
            return statuses
        }
        let accepted = stub.acceptedConnections
        let uris = stub.requests.map(\.uri)
        try await stub.shutdown()
        #expect(statuses == [200, 200, 200])
        #expect(accepted == 1)
        #expect(uris == ["/0", "/1", "/2"])
    }

    @Test("wakes a waiter as soon as the awaited request arrives")
    func waitsForRequests() async throws {
        let stub = try await UpstreamStub.start()
        async let waited = stub.waitForRequests(count: 2, timeout: .seconds(10))
        for index in 0..<2 {
            _ = try await StubTestClient.withConnection(port: stub.port) { connection in
                try await connection.send(method: .GET, uri: "/w\(index)")
            }
        }
        let requests = try await waited
        try await stub.shutdown()
        #expect(requests.map(\.uri) == ["/w0", "/w1"])
    }

    @Test("fails a wait that the deadline passes")
    func waitTimesOut() async throws {
        let stub = try await UpstreamStub.start()
        await #expect(throws: UpstreamStub.TimedOut.self) {
            try await stub.waitForRequests(count: 1, timeout: .milliseconds(50))
        }
        try await stub.shutdown()
    }

    @Test("computes FNV-1a 64 like the reference vectors")
    func checksumVectors() {
        #expect(fnv1a64([UInt8]()) == 0xcbf2_9ce4_8422_2325)
        #expect(fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
        #expect(fnv1a64(Array("foobar".utf8)) == 0x8594_4171_f739_67e8)
        #expect(fnv1a64(Array("bar".utf8), seed: fnv1a64(Array("foo".utf8))) == fnv1a64(Array("foobar".utf8)))
    }
}
