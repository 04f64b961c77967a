import NIOCore

/// Why an exchange with an upstream failed; also the `kind` label of upstream error metrics.
enum UpstreamFailure: String, Error, Sendable {
    case connect
    case timeout
    case reset
    case `protocol`
}

/// Receives one response from an `UpstreamConnection`. Called on the connection's event
/// loop, which is also the client connection's.
protocol UpstreamResponseDelegate: AnyObject {
    func upstreamResponseHead(_ head: ResponseHead)
    func upstreamResponseBody(_ bytes: ByteBuffer)
    func upstreamResponseFlush()
    /// The response is complete; `reusable` when the connection may serve another request.
    func upstreamResponseEnd(reusable: Bool)
    func upstreamFailed(_ failure: UpstreamFailure)
    func upstreamWritabilityChanged(_ writable: Bool)
}

/// One keep-alive connection to an upstream, leased to one exchange at a time by its
/// `UpstreamPool`. Parses the response strictly enough to find its end (so the connection
/// can be reused) and passes the bytes through unchanged; reads pause while the client
/// cannot take more (backpressure both ways). After a `101` to a WebSocket handshake it
/// carries a `Tunnel`'s bytes until it closes, and is never leased again.
final class UpstreamConnection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum ResponseState {
        /// Not leased, or request sent and no response byte yet.
        case awaitingHead
        case contentLength(remaining: Int)
        case chunked(ChunkedDecoder)
        case untilClose
        /// Switched protocols: every byte is tunnel data, until the connection closes.
        case tunnel
    }

    private(set) var channel: Channel?
    private var context: ChannelHandlerContext?
    /// Strong, and cleared whenever an exchange ends or the connection closes: a weak
    /// reference would give the client handler a side table, and every retain of it (several
    /// per request) would take the runtime's slow path.
    private var delegate: UpstreamResponseDelegate?
    /// The pool lives as long as its event loop's context (pools are never dropped).
    var pool: UpstreamPool?
    private var state = ResponseState.awaitingHead
    private var scanner = HeadScanner()
    private var buffered: ByteBuffer?
    private var requestIsHead = false
    private var requestIsUpgrade = false
    private var responseKeepAlive = true
    private var readPaused = false
    private var readPending = false
    /// The upstream `timeout` for the response head; made when the handler is added.
    private var timeout: DeadlineTimer?
    private(set) var isClosed = false
    private var leased = false
    private let maxHeadBytes = 65536

    var isWritable: Bool { channel?.isWritable ?? false }

    // MARK: Leasing (called by the exchange on the shared event loop)

    /// Leases the connection to one exchange. `requestIsUpgrade`: the request is a WebSocket
    /// handshake, so a `101` switches the connection to a tunnel (any other `101` is refused).
    func begin(delegate: UpstreamResponseDelegate, requestIsHead: Bool, requestIsUpgrade: Bool) {
        self.delegate = delegate
        self.requestIsHead = requestIsHead
        self.requestIsUpgrade = requestIsUpgrade
        self.state = .awaitingHead
        self.leased = true
        self.responseKeepAlive = true
        self.readPaused = false
        self.scanner.reset()
        resumeReadIfPending()
    }

    /// Starts the `timeout` for the response head; called once the whole request was sent,
    /// so a slow client upload never counts against the upstream.
    func armResponseTimeout(_ timeout: TimeAmount) {
        guard leased, case .awaitingHead = state, let timer = self.timeout, !timer.isArmed else { return }
        timer.arm(in: timeout)
    }

    func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    /// After a `101`: the rest of the connection's events (tunnel bytes, writability, the
    /// close) go to `delegate`, bytes already read behind the `101` head included.
    func handOver(to delegate: UpstreamResponseDelegate) {
        self.delegate = delegate
    }

    /// Closes once every write already made has gone out (the tunnel's client side closed),
    /// or after 2 s if the upstream does not take them.
    func closeAfterWrites() {
        guard !isClosed, let context else { return }
        delegate = nil
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in self?.close() }
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { [weak self] in self?.close() }
    }

    /// Holds reads while the client is not writable.
    func setReadPaused(_ paused: Bool) {
        readPaused = paused
        if !paused { resumeReadIfPending() }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        leased = false
        delegate = nil
        timeout?.cancel()
        context?.close(promise: nil)
    }

    // MARK: ChannelHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.channel = context.channel
        // Unowned: the connection owns the timer, so the timer never outlives it.
        self.timeout = DeadlineTimer(eventLoop: context.eventLoop) { [unowned self] in self.fail(.timeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard leased, delegate != nil else {
            // Bytes nobody asked for (or after the exchange gave up): the connection is unusable.
            close()
            return
        }
        if buffered == nil {
            buffered = bytes
        } else {
            var bytes = bytes
            buffered!.writeBuffer(&bytes)  // non-nil checked above
        }
        process()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamResponseFlush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        timeout?.cancel()
        if leased, let delegate {
            switch state {
            case .untilClose, .tunnel:
                leased = false
                self.delegate = nil
                delegate.upstreamResponseEnd(reusable: false)
            case .awaitingHead, .contentLength, .chunked:
                self.delegate = nil
                delegate.upstreamFailed(.reset)
            }
        }
        pool?.connectionClosed(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A leased connection's exchange (or tunnel) must hear of it: close() alone would
        // drop the delegate before channelInactive could tell it.
        if leased {
            fail(.reset)
        } else {
            close()
        }
    }

    func read(context: ChannelHandlerContext) {
        if readPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReadIfPending() {
        guard readPending, !readPaused, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: Response parsing

    private func process() {
        while var input = buffered, leased, let delegate {
            buffered = nil
            switch state {
            case .awaitingHead:
                switch scanner.scan(input, limit: maxHeadBytes) {
                case .needMore:
                    buffered = input
                    return
                case .bareLineFeed, .tooLarge:
                    fail(.protocol)
                    return
                case .complete(let length):
                    let headBytes = input.readSlice(length: length)!  // length <= readableBytes
                    scanner.reset()
                    switch HeadParser.parseResponse(headBytes, requestIsHead: requestIsHead) {
                    case .failure:
                        fail(.protocol)
                        return
                    case .success(let head):
                        if head.status == 101 {
                            // Only a handshake may switch protocols (RFC 9110 section 15.2.2).
                            guard requestIsUpgrade else {
                                fail(.protocol)
                                return
                            }
                            timeout?.disarm()
                            state = .tunnel
                            delegate.upstreamResponseHead(head)
                        } else if head.status >= 100 && head.status < 200 {
                            // Interim response: pass it on and wait for the final one.
                            delegate.upstreamResponseHead(head)
                        } else {
                            timeout?.disarm()
                            responseKeepAlive = head.keepAlive
                            delegate.upstreamResponseHead(head)
                            switch head.framing {
                            case .none:
                                buffered = input.readableBytes > 0 ? input : nil
                                finish()
                                return
                            case .contentLength(let length): state = .contentLength(remaining: length)
                            case .chunked: state = .chunked(ChunkedDecoder())
                            case .untilClose: state = .untilClose
                            }
                        }
                    }
                }
                if input.readableBytes > 0 { buffered = input }
            case .contentLength(let remaining):
                let count = min(remaining, input.readableBytes)
                delegate.upstreamResponseBody(input.readSlice(length: count)!)  // count <= readableBytes
                if remaining == count {
                    buffered = input.readableBytes > 0 ? input : nil
                    finish()
                    return
                }
                state = .contentLength(remaining: remaining - count)
            case .chunked(var decoder):
                // Chunked bytes are passed on as received; the decoder only finds the end.
                let body: (length: Int, ended: Bool)
                do {
                    body = try decoder.measure(input)
                } catch {
                    fail(.protocol)
                    return
                }
                if body.length > 0 { delegate.upstreamResponseBody(input.readSlice(length: body.length)!) }  // length <= readableBytes
                state = .chunked(decoder)
                if body.ended {
                    buffered = input.readableBytes > 0 ? input : nil
                    finish()
                    return
                }
            case .untilClose, .tunnel:
                delegate.upstreamResponseBody(input)
            }
        }
    }

    private func finish() {
        let reusable = responseKeepAlive && buffered == nil && !isClosed
        leased = false
        let delegate = self.delegate
        self.delegate = nil
        state = .awaitingHead
        delegate?.upstreamResponseEnd(reusable: reusable)
    }

    private func fail(_ failure: UpstreamFailure) {
        let delegate = self.delegate
        close()
        delegate?.upstreamFailed(failure)
    }
}

@available(*, unavailable)
extension UpstreamConnection: Sendable {}
