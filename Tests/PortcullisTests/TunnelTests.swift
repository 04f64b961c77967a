import NIOCore
import NIOEmbedded
import Testing

@testable import Portcullis

/// A `Tunnel` between two `EmbeddedChannel`s: the client's (a context it writes and reads
/// through) and the upstream's (an `UpstreamConnection` that has seen a 101).
@Suite("Tunnel")
struct TunnelTests {
    /// Both sides of a tunnel, and what was asked of them.
    private final class Fixture {
        let client = EmbeddedChannel()
        let upstream = EmbeddedChannel()
        let clientReads = ReadCounter()
        let upstreamReads = ReadCounter()
        let connection = UpstreamConnection()
        let exchange = NoDelegate()
        let ended = Counter()
        let tunnel: Tunnel

        init(idleTimeout: TimeAmount = .seconds(60), early: String? = nil) throws {
            let holder = ContextHolder()
            try client.pipeline.syncOperations.addHandlers([clientReads, holder])
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try upstream.pipeline.syncOperations.addHandlers([upstreamReads, connection])
            try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
            connection.begin(delegate: exchange, requestIsHead: false, requestIsUpgrade: true)
            try upstream.writeInbound(ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
            let context = try #require(holder.context)
            let ended = self.ended
            tunnel = Tunnel(client: context, upstream: connection, idleTimeout: idleTimeout) { ended.count += 1 }
            tunnel.start(early: early.map { ByteBuffer(string: $0) })
        }

        /// Runs what closing left queued and cancels pending timers: an `EmbeddedEventLoop`
        /// runs nothing by itself, so otherwise both pipelines (and the tunnel) outlive the test.
        deinit {
            _ = try? client.finish(acceptAlreadyClosed: true)
            _ = try? upstream.finish(acceptAlreadyClosed: true)
        }

        func sentUpstream() throws -> [String] {
            var sent: [String] = []
            while let buffer = try upstream.readOutbound(as: ByteBuffer.self) { sent.append(String(buffer: buffer)) }
            return sent
        }

        func sentToClient() throws -> [String] {
            var sent: [String] = []
            while let buffer = try client.readOutbound(as: ByteBuffer.self) { sent.append(String(buffer: buffer)) }
            return sent
        }
    }

    @Test("sends early client bytes at once, then client bytes per read batch and upstream bytes per upstream read batch")
    func copiesBothWays() throws {
        let fixture = try Fixture(early: "early")
        #expect(try fixture.sentUpstream() == ["early"])
        fixture.tunnel.clientBytes(ByteBuffer(string: "a"))
        fixture.tunnel.clientBytes(ByteBuffer(string: "b"))
        #expect(try fixture.sentUpstream() == [])
        fixture.tunnel.clientReadComplete()
        #expect(try fixture.sentUpstream() == ["a", "b"])
        try fixture.upstream.writeInbound(ByteBuffer(string: "from upstream"))
        fixture.upstream.pipeline.fireChannelReadComplete()
        #expect(try fixture.sentToClient() == ["from upstream"])
        #expect(fixture.ended.count == 0)
    }

    @Test("holds client reads while the upstream is not writable, and asks for them again when it is")
    func clientBackpressure() throws {
        let fixture = try Fixture()
        let before = fixture.clientReads.count
        fixture.tunnel.clientRead()
        #expect(fixture.clientReads.count == before + 1)
        fixture.upstream.isWritable = false
        fixture.tunnel.clientRead()
        #expect(fixture.clientReads.count == before + 1)
        fixture.upstream.isWritable = true
        fixture.upstream.pipeline.fireChannelWritabilityChanged()
        #expect(fixture.clientReads.count == before + 2)
    }

    @Test("holds upstream reads while the client is not writable, and asks for them again when it is")
    func upstreamBackpressure() throws {
        let fixture = try Fixture()
        let before = fixture.upstreamReads.count
        fixture.client.isWritable = false
        try fixture.upstream.writeInbound(ByteBuffer(string: "x"))
        fixture.upstream.read()
        #expect(fixture.upstreamReads.count == before)
        fixture.client.isWritable = true
        fixture.tunnel.clientWritabilityChanged(true)
        #expect(fixture.upstreamReads.count == before + 1)
    }

    @Test("ends when the upstream closes, and closes the upstream when the client closes")
    func closing() throws {
        let upstreamFirst = try Fixture()
        try upstreamFirst.upstream.close().wait()
        #expect(upstreamFirst.ended.count == 1)

        let clientFirst = try Fixture()
        clientFirst.tunnel.clientBytes(ByteBuffer(string: "last words"))
        clientFirst.tunnel.clientClosed()
        #expect(try clientFirst.sentUpstream() == ["last words", ""])
        #expect(!clientFirst.upstream.isActive)
        #expect(clientFirst.ended.count == 0)
    }

    @Test("ends after the idle timeout without bytes either way, counted from the last bytes")
    func idleTimeout() throws {
        let fixture = try Fixture(idleTimeout: .seconds(10))
        let loop = fixture.client.embeddedEventLoop
        loop.advanceTime(by: .seconds(6))
        fixture.tunnel.clientReadComplete()
        loop.advanceTime(by: .seconds(6))
        #expect(fixture.ended.count == 0)
        try fixture.upstream.writeInbound(ByteBuffer(string: "x"))
        fixture.upstream.pipeline.fireChannelReadComplete()
        loop.advanceTime(by: .seconds(9))
        #expect(fixture.ended.count == 0)
        loop.advanceTime(by: .seconds(1))
        #expect(fixture.ended.count == 1)
        #expect(!fixture.upstream.isActive)
    }
}

private final class Counter {
    var count = 0
}

/// Counts the `read` calls passing through.
private final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = Any
    var count = 0

    func read(context: ChannelHandlerContext) {
        count += 1
        context.read()
    }
}

private final class ContextHolder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// The context holds this handler: keeping it after removal would keep both alive.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }
}

private final class NoDelegate: UpstreamResponseDelegate {
    func upstreamResponseHead(_ head: ResponseHead) {}
    func upstreamResponseBody(_ bytes: ByteBuffer) {}
    func upstreamResponseFlush() {}
    func upstreamResponseEnd(reusable: Bool) {}
    func upstreamFailed(_ failure: UpstreamFailure) {}
    func upstreamWritabilityChanged(_ writable: Bool) {}
}
