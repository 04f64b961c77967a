import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One client connection: reads request heads as bytes, decides (route, token, policy),
/// forwards the request to a pooled upstream connection on the same event loop, and streams
/// both bodies with backpressure. One exchange at a time; pipelined requests wait in
/// `inbound` until the current response is complete. A WebSocket handshake the upstream
/// accepts turns the connection into a `Tunnel` for the rest of its life.
///
/// Bound to its event loop; all upstream callbacks arrive on the same loop.
final class ClientConnectionHandler: ChannelDuplexHandler, UpstreamResponseDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum RequestBody {
        case none
        case contentLength(remaining: Int)
        case chunked(ChunkedDecoder)
        case done

        var isComplete: Bool {
            switch self {
            case .none, .done: return true
            case .contentLength, .chunked: return false
            }
        }
    }

    /// One request/response in flight.
    private final class Exchange {
        let head: RequestHead
        let requestID: String
        let runtime: GatewayRuntime
        let route: CompiledRoute
        let pool: UpstreamPool
        var upstreamHead: ByteBuffer?
        var body: RequestBody
        var bodyBytes = 0
        var upstream: UpstreamConnection?
        var responseStarted = false
        var closeAfterResponse = false

        init(head: RequestHead, requestID: String, runtime: GatewayRuntime, route: CompiledRoute, pool: UpstreamPool, upstreamHead: ByteBuffer) {
            self.head = head
            self.requestID = requestID
            self.runtime = runtime
            self.route = route
            self.pool = pool
            self.upstreamHead = upstreamHead
            switch head.framing {
            case .none, .untilClose: body = .none
            case .contentLength(let length): body = .contentLength(remaining: length)
            case .chunked: body = .chunked(ChunkedDecoder())
            }
        }
    }

    private let loop: LoopContext
    private let scheme: String
    private var context: ChannelHandlerContext?
    private var clientAddress = "unknown"
    private var inbound: ByteBuffer?
    private var scanner = HeadScanner()
    private var exchange: Exchange?
    /// Set once a WebSocket handshake succeeded; from then on it gets every client event.
    private var tunnel: Tunnel?
    private var closing = false
    private var processing = false
    private var readPending = false
    private var upstreamNeedsFlush = false
    /// From a `channelRead` to the `channelReadComplete` that ends its burst.
    private var inReadBurst = false
    /// `server.header_timeout`, armed while a request head is awaited.
    private var headerTimer: DeadlineTimer!
    /// `server.idle_timeout`, armed while a keep-alive connection waits for its next request.
    private var idleTimer: DeadlineTimer!
    /// Set while a request waits for its revocation check on a worker; reads are held.
    private var revocationWait: RevocationWait?
    /// `blocklist.timeout`, armed while a request's check is on a worker.
    private var revocationTimer: DeadlineTimer!

    /// Identifies one pending revocation check (or `/logout`), so a late answer for a request
    /// that is gone (connection closed, check timed out) is ignored.
    private final class RevocationWait {
        /// The service asked, and when; nil for `/logout`, which bounds its own wait.
        let check: (service: RevocationService, start: NIODeadline)?
        /// Continues the request with the check's outcome.
        let resume: (RevocationService.Outcome) -> Void

        init(
            check: (service: RevocationService, start: NIODeadline)? = nil,
            resume: @escaping (RevocationService.Outcome) -> Void = { _ in }
        ) {
            self.check = check
            self.resume = resume
        }
    }

    /// A `/logout` request whose body is being read.
    private struct LogoutBodyRead {
        var head: RequestHead
        var requestID: String
        var runtime: GatewayRuntime
        var body: BoundedBody
    }

    private var logoutBodyRead: LogoutBodyRead?
    /// The current request's record: its metrics, and its access-log line when
    /// `log.access_log` is on.
    private var access: AccessRecord?

    init(loop: LoopContext, scheme: String) {
        self.loop = loop
        self.scheme = scheme
        // Unowned, not weak: the handler owns its timers, so they never outlive it, and a weak
        // reference would put every retain of the handler on the runtime's slow path.
        self.headerTimer = DeadlineTimer(eventLoop: loop.eventLoop) { [unowned self] in self.headerTimedOut() }
        self.idleTimer = DeadlineTimer(eventLoop: loop.eventLoop) { [unowned self] in self.idleTimedOut() }
        self.revocationTimer = DeadlineTimer(eventLoop: loop.eventLoop) { [unowned self] in self.revocationTimedOut() }
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop.register(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        loop.unregister(self)
    }

    func channelActive(context: ChannelHandlerContext) {
        clientAddress = context.channel.remoteAddress?.ipAddress ?? "unknown"
        armHeaderTimer()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        inReadBurst = true
        guard !closing else { return }
        if let tunnel {
            tunnel.clientBytes(bytes)
            return
        }
        if inbound == nil {
            inbound = bytes
        } else {
            inbound!.writeBuffer(&bytes)  // non-nil checked above
        }
        if exchange == nil {
            idleTimer.disarm()
            if !headerTimer.isArmed { armHeaderTimer() }
        }
        process()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        tunnel?.clientReadComplete()
        flushUpstreamIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstream?.setReadPaused(!context.channel.isWritable)
        tunnel?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        revocationWait = nil
        logoutBodyRead = nil
        headerTimer.cancel()
        idleTimer.cancel()
        revocationTimer.cancel()
        if let exchange {
            self.exchange = nil
            exchange.upstream?.close()
        }
        if let tunnel {
            self.tunnel = nil
            tunnel.clientClosed()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closeConnection()
    }

    func read(context: ChannelHandlerContext) {
        if let tunnel {
            tunnel.clientRead()
        } else if holdReads {
            readPending = true
        } else {
            context.read()
        }
    }

    // MARK: Request side

    /// While a request waits (for its revocation check or its upstream) or its body is
    /// complete, bytes read ahead (a pipelined request, early WebSocket frames) are kept in
    /// `inbound`, up to this many; beyond it, reads are held.
    ///
    /// Not holding reads below it matters for speed: a held read makes the event loop drop
    /// the socket's read interest and add it back after the response, two `epoll_ctl` calls
    /// per request on every keep-alive connection.
    static let maxReadAhead = 65536

    /// Reads are held while the upstream cannot take more body bytes, and while a request
    /// waits or its body is complete once `maxReadAhead` bytes are buffered.
    private var holdReads: Bool {
        guard !closing else { return false }
        let readAheadFull = (inbound?.readableBytes ?? 0) >= Self.maxReadAhead
        if revocationWait != nil { return readAheadFull }
        guard let exchange else { return false }
        guard !exchange.body.isComplete, let upstream = exchange.upstream else { return readAheadFull }
        return !upstream.isWritable
    }

    private func resumeReads() {
        guard readPending, !holdReads, let context else { return }
        readPending = false
        context.read()
    }

    private func process() {
        guard !processing else { return }
        processing = true
        defer {
            processing = false
            flushUpstreamIfNeeded()
        }
        while !closing, revocationWait == nil {
            if logoutBodyRead != nil {
                guard readLogoutBody() else { return }
                continue
            }
            if let exchange {
                forwardBody(exchange)
                return
            }
            guard var input = inbound, input.readableBytes > 0 else {
                inbound = nil
                if loop.draining { closeConnection() }
                return
            }
            // Tolerate empty lines before a request line (RFC 9112 section 2.2).
            while input.readableBytes >= 2, input.getInteger(at: input.readerIndex, as: UInt16.self) == 0x0D0A {
                input.moveReaderIndex(forwardBy: 2)
            }
            let limit = loop.runtimeBox.runtime.config.server.maxHeaderBytes
            switch scanner.scan(input, limit: limit) {
            case .needMore:
                inbound = input
                return
            case .bareLineFeed:
                inbound = nil
                respond(.badRequest("Line endings must be CRLF."), requestID: nil, head: nil, close: true)
                return
            case .tooLarge:
                inbound = nil
                respond(.headersTooLarge, requestID: nil, head: nil, close: true)
                return
            case .complete(let length):
                let headBytes = input.readSlice(length: length)!  // length <= readableBytes
                inbound = input.readableBytes > 0 ? input : nil
                scanner.reset()
                headerTimer.disarm()
                switch HeadParser.parseRequest(headBytes) {
                case .failure(let error):
                    inbound = nil
                    respond(.badRequest("The request is malformed: \(error.reason)."), requestID: nil, head: nil, close: true)
                    return
                case .success(let head):
                    start(head)
                }
            }
        }
    }

    private func start(_ head: RequestHead) {
        let runtime = loop.runtimeBox.runtime
        let requestID = clientRequestID(head) ?? loop.makeRequestID()
        let path = head.normalizedPath
        access = AccessRecord(
            start: loop.eventLoop.now, requestID: requestID, head: head, path: path, logged: runtime.config.log.accessLog
        )
        switch RequestDecision.decide(head, path: path, runtime: runtime, cache: loop.tokenCache, now: Int64(time(nil))) {
        case .reject(let error, let routeIndex):
            if let routeIndex { access?.route = runtime.routes[routeIndex].settings.name }
            reject(error, head: head, requestID: requestID)
        case .logout:
            access?.route = "logout"
            guard let body = BoundedBody(framing: head.framing, limit: LogoutRequest.maxBodyBytes) else {
                reject(.payloadTooLarge, head: head, requestID: requestID)
                return
            }
            logoutBodyRead = LogoutBodyRead(head: head, requestID: requestID, runtime: runtime, body: body)
        case .forward(let plan):
            guard let token = plan.token, let revocation = runtime.revocation else {
                forward(head, plan: plan, requestID: requestID, runtime: runtime)
                return
            }
            // Every authenticated request is checked, cached verification or not.
            let checkStart = loop.eventLoop.now
            guard !revocation.answersInline else {
                let outcome = revocation.checkInline(token.revocationToken)
                recordCheckDuration(since: checkStart)
                conclude(outcome, head: head, plan: plan, requestID: requestID, runtime: runtime)
                return
            }
            let wait = RevocationWait(check: (revocation, checkStart)) { [self] outcome in
                conclude(outcome, head: head, plan: plan, requestID: requestID, runtime: runtime)
                process()
                resumeReads()
            }
            revocationWait = wait
            revocationTimer.arm(in: revocation.checkTimeout)
            let answered = NIOLoopBound((self, wait), eventLoop: loop.eventLoop)
            revocation.enqueueCheck(token.revocationToken, on: loop.eventLoop) { outcome in
                let (handler, wait) = answered.value
                handler.revocationAnswered(outcome, for: wait)
            }
        }
    }

    private func revocationAnswered(_ outcome: RevocationService.Outcome, for wait: RevocationWait) {
        guard revocationWait === wait, !closing else { return }
        revocationWait = nil
        revocationTimer.disarm()
        if let check = wait.check { recordCheckDuration(since: check.start) }
        wait.resume(outcome)
    }

    private func revocationTimedOut() {
        guard let wait = revocationWait, let check = wait.check, !closing else { return }
        revocationAnswered(check.service.timedOut(), for: wait)
    }

    private func recordCheckDuration(since start: NIODeadline) {
        loop.metrics.shared.revocationCheckDuration.recordNanoseconds((loop.eventLoop.now - start).nanoseconds)
    }

    /// Applies the revocation verdict, and `on_error` when the blocklist could not answer.
    private func conclude(
        _ outcome: RevocationService.Outcome, head: RequestHead, plan: ForwardPlan, requestID: String,
        runtime: GatewayRuntime
    ) {
        switch outcome {
        case .notRevoked:
            forward(head, plan: plan, requestID: requestID, runtime: runtime)
        case .revoked:
            access?.route = runtime.routes[plan.routeIndex].settings.name
            reject(.tokenRevoked, head: head, requestID: requestID)
        case .failed(let reason):
            loop.metrics.shared.revocationErrors.increment()
            let allow = runtime.config.blocklist.onError == .allow
            loop.revocationFailureLog.record(reason, allowed: allow, logger: loop.logger, now: loop.eventLoop.now)
            if allow {
                forward(head, plan: plan, requestID: requestID, runtime: runtime)
            } else {
                access?.route = runtime.routes[plan.routeIndex].settings.name
                reject(.revocationUnavailable, head: head, requestID: requestID)
            }
        }
    }

    // MARK: /logout

    /// Feeds buffered bytes to the `/logout` body; true once the request has moved on
    /// (answered, or waiting for the blocklist), false while more bytes are needed.
    private func readLogoutBody() -> Bool {
        guard var read = logoutBodyRead else { return true }
        var input = inbound ?? ByteBuffer()
        let progress = read.body.feed(&input)
        inbound = input.readableBytes > 0 ? input : nil
        switch progress {
        case .needMore:
            logoutBodyRead = read
            return false
        case .tooLarge:
            logoutBodyRead = nil
            inbound = nil
            respond(.payloadTooLarge, requestID: read.requestID, head: read.head, close: true)
        case .malformed:
            logoutBodyRead = nil
            inbound = nil
            respond(.badRequest("The chunked request body is malformed."), requestID: read.requestID, head: read.head, close: true)
        case .complete(let body):
            logoutBodyRead = nil
            logOut(read.head, body: body, requestID: read.requestID, runtime: read.runtime)
        }
        return true
    }

    /// Verifies both tokens, then checks and revokes them off the request path's fast lane;
    /// reads are held until the answer is written.
    private func logOut(_ head: RequestHead, body: [UInt8], requestID: String, runtime: GatewayRuntime) {
        let now = Int64(time(nil))
        let plan: LogoutPlan
        switch LogoutRequest.plan(head, body: body, runtime: runtime, cache: loop.tokenCache, now: now) {
        case .failure(let error):
            respond(error, requestID: requestID, head: head, close: !head.keepAlive)
            return
        case .success(let planned):
            plan = planned
        }
        let wait = RevocationWait()
        revocationWait = wait
        LogoutFlow.run(plan, runtime: runtime, on: loop.eventLoop, now: now).assumeIsolated().whenSuccess { [self] result in
            guard revocationWait === wait, !closing, let context else { return }
            revocationWait = nil
            switch result {
            case .failure(let error):
                if error.code == GatewayError.revocationUnavailable.code { loop.metrics.shared.revocationErrors.increment() }
                respond(error, requestID: requestID, head: head, close: !head.keepAlive)
            case .success(let answer):
                access?.auth = "allowed"
                access?.subject = plan.access.subject
                finishAccess(status: 200)
                let bytes = JSONResponse.render(
                    status: 200, body: answer.body, requestID: requestID, close: !head.keepAlive, headers: answer.headers,
                    allocator: context.channel.allocator
                )
                if head.keepAlive {
                    context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
                } else {
                    writeAndLinger(bytes)
                }
            }
            afterExchange()
        }
    }

    private func reject(_ error: GatewayError, head: RequestHead, requestID: String) {
        // A body we did not read would be taken for the next request: close instead of draining.
        respond(error, requestID: requestID, head: head, close: !head.keepAlive || head.framing != .none)
    }

    private func forward(_ head: RequestHead, plan: ForwardPlan, requestID: String, runtime: GatewayRuntime) {
        guard let context else { return }
        let route = runtime.routes[plan.routeIndex]
        let target = runtime.upstreams[route.upstreamIndex]
        access?.route = route.settings.name
        access?.auth = plan.token == nil ? "public" : "allowed"
        access?.subject = plan.token?.subject
        access?.upstream = target.settings.name
        let upstreamHead = HeadRewriter.upstreamRequest(
            head, plan: plan, route: route, runtime: runtime, requestID: requestID,
            clientAddress: clientAddress, scheme: scheme, logger: loop.logger, allocator: context.channel.allocator
        )
        let exchange = Exchange(
            head: head, requestID: requestID, runtime: runtime, route: route,
            pool: loop.pool(for: target), upstreamHead: upstreamHead
        )
        self.exchange = exchange
        exchange.pool.acquire { [self] result in
            self.leased(result, for: exchange)
        }
    }

    private func leased(_ result: Result<UpstreamConnection, UpstreamFailure>, for exchange: Exchange) {
        guard self.exchange === exchange, !closing else {
            if case .success(let connection) = result { exchange.pool.release(connection) }
            return
        }
        switch result {
        case .failure(let failure):
            upstreamFailed(failure)
        case .success(let connection):
            access?.upstreamStart = loop.eventLoop.now
            exchange.upstream = connection
            connection.begin(delegate: self, requestIsHead: exchange.head.isHead, requestIsUpgrade: exchange.head.wantsWebSocket)
            if let head = exchange.upstreamHead {
                connection.write(head)
                exchange.upstreamHead = nil
                upstreamNeedsFlush = true
            }
            if exchange.head.expectsContinue, !exchange.body.isComplete, let context {
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
            connection.setReadPaused(!(context?.channel.isWritable ?? true))
            process()
            flushUpstreamIfNeeded()
            resumeReads()
        }
    }

    private func forwardBody(_ exchange: Exchange) {
        guard let upstream = exchange.upstream, var input = inbound, input.readableBytes > 0 else { return }
        defer { inbound = input.readableBytes > 0 ? input : nil }
        switch exchange.body {
        case .none, .done:
            return
        case .contentLength(let remaining):
            let count = min(remaining, input.readableBytes)
            upstream.write(input.readSlice(length: count)!)  // count <= readableBytes
            exchange.body = remaining == count ? .done : .contentLength(remaining: remaining - count)
            upstreamNeedsFlush = true
        case .chunked(var decoder):
            let maxBody = exchange.runtime.config.server.maxBodyBytes
            while true {
                let event: ChunkedDecoder.Event
                do {
                    event = try decoder.next(&input)
                } catch {
                    abortRequestBody(.badRequest("The chunked request body is malformed."))
                    input.clear()
                    return
                }
                switch event {
                case .needMore:
                    exchange.body = .chunked(decoder)
                    return
                case .end:
                    upstream.write(ByteBuffer(staticString: "0\r\n\r\n"))
                    exchange.body = .done
                    upstreamNeedsFlush = true
                    return
                case .data(let slice):
                    exchange.bodyBytes += slice.readableBytes
                    if maxBody > 0, exchange.bodyBytes > maxBody {
                        abortRequestBody(.payloadTooLarge)
                        input.clear()
                        return
                    }
                    // Re-framed with our own chunk headers: what reaches the upstream is clean.
                    upstream.write(ByteBuffer(string: String(slice.readableBytes, radix: 16) + "\r\n"))
                    upstream.write(slice)
                    upstream.write(ByteBuffer(staticString: "\r\n"))
                    upstreamNeedsFlush = true
                }
            }
        }
    }

    /// A request body turned out bad after forwarding began: the upstream exchange is
    /// abandoned; the client gets the error if no response has started, else a reset.
    private func abortRequestBody(_ error: GatewayError) {
        guard let exchange else { return }
        self.exchange = nil
        exchange.upstream?.close()
        if exchange.responseStarted {
            closeConnection()
        } else {
            respond(error, requestID: exchange.requestID, head: exchange.head, close: true)
        }
    }

    /// Waits while `process()` runs (it flushes when it returns) and until a read burst ends
    /// (`channelReadComplete` flushes): the head goes out only with the body bytes the client
    /// had already sent, decoded, so a body whose framing is bad in those bytes is refused
    /// before the upstream sees any of the request. It also makes one flush per burst.
    private func flushUpstreamIfNeeded() {
        guard upstreamNeedsFlush, !processing, !inReadBurst, let exchange, let upstream = exchange.upstream else { return }
        upstreamNeedsFlush = false
        upstream.flush()
        if exchange.body.isComplete {
            upstream.armResponseTimeout(.init(exchange.runtime.config.upstreams[exchange.route.upstreamIndex].timeout))
        }
    }

    // MARK: UpstreamResponseDelegate

    func upstreamResponseHead(_ head: ResponseHead) {
        guard let exchange, let context else { return }
        if head.status == 101 {
            // The connection delivers a 101 only for a WebSocket handshake.
            openTunnel(exchange, head: head, context: context)
            return
        }
        if head.status < 200 {
            // Our own 100 Continue was already sent when the client asked for one.
            if head.status == 100 { return }
        } else {
            exchange.responseStarted = true
            access?.upstreamStatus = head.status
            exchange.closeAfterResponse =
                !exchange.head.keepAlive || head.framing == .untilClose || !exchange.body.isComplete
        }
        let bytes = HeadRewriter.clientResponse(
            head, requestID: exchange.requestID, closeConnection: exchange.closeAfterResponse,
            clientIsHTTP10: exchange.head.version == .http10, allocator: context.channel.allocator
        )
        context.write(wrapOutboundOut(bytes), promise: nil)
    }

    func upstreamResponseBody(_ bytes: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(bytes), promise: nil)
        if !context.channel.isWritable { exchange?.upstream?.setReadPaused(true) }
    }

    func upstreamResponseFlush() {
        context?.flush()
    }

    func upstreamResponseEnd(reusable: Bool) {
        guard let exchange, let context else { return }
        self.exchange = nil
        finishAccess(status: access?.upstreamStatus ?? 0)
        if let upstream = exchange.upstream {
            if reusable && exchange.body.isComplete {
                exchange.pool.release(upstream)
            } else {
                upstream.close()
            }
        }
        if exchange.closeAfterResponse || !exchange.body.isComplete {
            writeAndLinger(nil)
            return
        }
        context.flush()
        afterExchange()
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard let exchange else { return }
        self.exchange = nil
        loop.metrics.shared.recordUpstreamError(
            upstream: exchange.runtime.upstreams[exchange.route.upstreamIndex].settings.name, kind: failure
        )
        exchange.upstream?.close()
        if exchange.responseStarted {
            finishAccess(status: access?.upstreamStatus ?? 0)
            closeConnection()
            return
        }
        let error: GatewayError = failure == .timeout ? .gatewayTimeout : .badGateway
        respond(error, requestID: exchange.requestID, head: exchange.head, close: !exchange.body.isComplete || !exchange.head.keepAlive)
        if !closing { afterExchange() }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { resumeReads() }
    }

    /// The upstream accepted the WebSocket handshake: the 101 goes to the client, and both
    /// connections become a tunnel. Its upstream connection never returns to the pool; the
    /// pool's slot is freed when it closes.
    private func openTunnel(_ exchange: Exchange, head: ResponseHead, context: ChannelHandlerContext) {
        guard let upstream = exchange.upstream else { return }
        self.exchange = nil
        headerTimer.disarm()
        idleTimer.disarm()
        access?.upstreamStatus = 101
        finishAccess(status: 101)
        let bytes = HeadRewriter.clientSwitchingProtocols(head, requestID: exchange.requestID, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        let idleTimeout = TimeAmount(exchange.runtime.config.server.idleTimeout)
        let tunnel = Tunnel(client: context, upstream: upstream, idleTimeout: idleTimeout) { [weak self] in
            // The upstream side ended: the client gets what is pending, then a lingering close
            // that reads again even if the tunnel was holding the client's reads.
            guard let self else { return }
            self.tunnel = nil
            self.readPending = true
            self.writeAndLinger(nil)
        }
        self.tunnel = tunnel
        let early = inbound
        inbound = nil
        tunnel.start(early: early)
        if readPending {
            readPending = false
            tunnel.clientRead()
        }
    }

    // MARK: Responses and connection lifetime

    /// Writes an error the gateway produced. With `close`, the connection closes after it.
    private func respond(_ error: GatewayError, requestID: String?, head: RequestHead?, close: Bool) {
        guard let context else { return }
        let id = requestID ?? loop.makeRequestID()
        if access == nil {
            // Only refusals before a head was accepted get here; the path is normalized for the log alone.
            let logged = loop.runtimeBox.runtime.config.log.accessLog
            let path = logged ? head?.normalizedPath : nil
            access = AccessRecord(start: loop.eventLoop.now, requestID: id, head: head, path: path, logged: logged)
        }
        let result = AccessRecord.authResult(of: error)
        if result != "-" { access?.auth = result }
        finishAccess(status: error.status)
        let bytes = error.render(requestID: id, close: close, allocator: context.channel.allocator)
        if close {
            writeAndLinger(bytes)
        } else {
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        }
    }

    /// Back to waiting for the next request on a kept-alive connection.
    private func afterExchange() {
        if loop.draining, inbound == nil {
            closeConnection()
            return
        }
        if inbound == nil {
            armIdleTimer()
        } else {
            armHeaderTimer()
            process()
        }
        resumeReads()
    }

    /// Sends what is left, then half-closes and keeps reading (discarding) until the client
    /// closes or 2 s pass. Closing with unread client bytes would make the kernel send a
    /// reset that can destroy the response before the client reads it (nginx's lingering close).
    private func writeAndLinger(_ bytes: ByteBuffer?) {
        guard let context, !closing else { return }
        closing = true
        inbound = nil
        headerTimer.cancel()
        idleTimer.cancel()
        revocationTimer.cancel()
        let loop = context.eventLoop
        let written = loop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(bytes ?? context.channel.allocator.buffer(capacity: 0)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            guard let self, let context = self.context else { return }
            let halfClosed = loop.makePromise(of: Void.self)
            context.close(mode: .output, promise: halfClosed)
            halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
            loop.assumeIsolated().scheduleTask(in: .seconds(2)) { context.close(promise: nil) }
            self.resumeReads()
        }
    }

    /// Counts the current request and writes its access-log line, once.
    private func finishAccess(status: Int) {
        guard let record = access else { return }
        access = nil
        let now = loop.eventLoop.now
        loop.metrics.recordRequest(route: record.route, status: status, auth: record.auth, duration: now - record.start)
        if record.logged {
            record.emit(status: status, now: now, logger: loop.accessLogger)
        }
    }

    // MARK: Shutdown

    /// Graceful shutdown: a connection between requests closes now; a busy one closes after
    /// its current response (`afterExchange`); a tunnel runs until it ends or `forceClose`.
    func closeIfIdle() {
        guard exchange == nil, tunnel == nil, revocationWait == nil, logoutBodyRead == nil, inbound == nil else { return }
        closeConnection()
    }

    /// The grace period is over.
    func forceClose() {
        closeConnection()
    }

    private func closeConnection() {
        guard !closing else { return }
        closing = true
        context?.close(promise: nil)
    }

    private func armHeaderTimer() {
        guard context != nil else { return }
        headerTimer.arm(in: .init(loop.runtimeBox.runtime.config.server.headerTimeout))
    }

    private func headerTimedOut() {
        guard exchange == nil, tunnel == nil, !closing else { return }
        if let inbound, inbound.readableBytes > 0 {
            respond(.requestTimeout, requestID: nil, head: nil, close: true)
        } else {
            closeConnection()
        }
    }

    private func armIdleTimer() {
        guard context != nil else { return }
        idleTimer.arm(in: .init(loop.runtimeBox.runtime.config.server.idleTimeout))
    }

    private func idleTimedOut() {
        guard exchange == nil, tunnel == nil, inbound == nil else { return }
        closeConnection()
    }

    /// The client's `X-Request-Id` when it is 1-200 visible ASCII characters.
    private func clientRequestID(_ head: RequestHead) -> String? {
        guard let field = head.field(.xRequestID), (1...200).contains(field.value.count) else { return nil }
        let ok = head.view(field.value).allSatisfy { $0 > 0x20 && $0 < 0x7F }
        return ok ? head.string(field.value) : nil
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
