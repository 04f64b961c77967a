import NIOCore
import Portcullis
import PortcullisFuzzSupport

/// Arbitrary bytes as an upstream's answer, through what `UpstreamConnection` does with them:
/// `HeadScanner`, `HeadParser.parseResponse`, `HeadRewriter.clientResponse`, and for a chunked
/// body `ChunkedDecoder.measure`, which finds where a body passed on as received ends.
///
/// The head sent to the client must be one well-formed head (CRLF only, no NUL, ending at its
/// first empty line) that parses again with the same status and body framing, so that the
/// client and the gateway agree on where the response ends. A chunked body must measure the
/// same in one read, in two, and byte by byte, and what was passed on must be a complete
/// chunked body by itself when the body ended.
private let allocator = ByteBufferAllocator()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = allocator.buffer(bytes: UnsafeBufferPointer(start: data, count: size))
    // The first byte picks the request method the response answers, as the connection knows it.
    guard let selector = input.readInteger(as: UInt8.self) else { return 0 }
    let requestIsHead = selector & 1 == 1
    var scanner = HeadScanner()
    guard case .complete(let length) = scanner.scan(input, limit: 64 * 1024) else { return 0 }
    let headBytes = input.readSlice(length: length)!  // length <= readableBytes
    guard case .success(let head) = HeadParser.parseResponse(headBytes, requestIsHead: requestIsHead) else { return 0 }
    let clientHead = HeadRewriter.clientResponse(
        head, requestID: "fuzz-request-id", closeConnection: head.framing == .untilClose, clientIsHTTP10: selector & 2 == 2,
        allocator: allocator)
    checkClientHead(clientHead, like: head, requestIsHead: requestIsHead)
    if head.framing == .chunked { checkChunkedBody(input) }
    return 0
}

private func checkClientHead(_ out: ByteBuffer, like head: ResponseHead, requestIsHead: Bool) {
    requireWellFormedHead(out, side: "client")
    switch HeadParser.parseResponse(out, requestIsHead: requestIsHead) {
    case .failure(let error):
        preconditionFailure("the client head does not parse (\(error)):\n\(String(buffer: out))")
    case .success(let forwarded):
        precondition(forwarded.status == head.status, "the client sees status \(forwarded.status), not \(head.status)")
        precondition(
            forwarded.framing == head.framing, "the client would frame the body as \(forwarded.framing), not \(head.framing)")
    }
}

private func checkChunkedBody(_ body: ByteBuffer) {
    guard let whole = measure([body]) else { return }
    let split = body.readableBytes / 2
    let halves = [body.getSlice(at: body.readerIndex, length: split)!, body.getSlice(at: body.readerIndex + split, length: body.readableBytes - split)!]
    // Byte by byte only for short bodies, to keep the executions fast.
    let bytewise = body.readableBytes > 2048 ? [] : (0..<body.readableBytes).map { body.getSlice(at: body.readerIndex + $0, length: 1)! }
    for pieces in [halves, bytewise] where !pieces.isEmpty {
        guard let other = measure(pieces) else { preconditionFailure("refused when read in \(pieces.count) pieces, not in one") }
        precondition(other == whole, "measured \(other) in \(pieces.count) pieces, \(whole) in one")
    }
    guard whole.ended else { return }
    // What was passed on is a whole chunked body: measured alone, it ends at its last byte.
    var decoder = ChunkedDecoder()
    let passed = body.getSlice(at: body.readerIndex, length: whole.length)!
    guard let again = try? decoder.measure(passed) else { preconditionFailure("the passed-on body does not decode again") }
    precondition(again.ended && again.length == whole.length, "the passed-on body ends at \(again), not at its end")
}

/// The body length and whether it ended, fed in `pieces` as reads; `nil` when refused.
private func measure(_ pieces: [ByteBuffer]) -> Measured? {
    var decoder = ChunkedDecoder()
    var length = 0
    for piece in pieces {
        guard let read = try? decoder.measure(piece) else { return nil }
        length += read.length
        if read.ended { return Measured(length: length, ended: true) }
        precondition(read.length == piece.readableBytes, "a read that does not end the body is not all body")
    }
    return Measured(length: length, ended: false)
}

private struct Measured: Equatable {
    var length: Int
    var ended: Bool
}

/// The program's entry point (see `FuzzDriver`).
@_cdecl("FuzzUpstreamResponse_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzz)
}
