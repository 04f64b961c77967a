import NIOCore
import Testing

@testable import Portcullis

/// The small-body reader `/logout` uses, fed byte slices as they would arrive.
@Suite("Bounded body")
struct BoundedBodyTests {
    private func feed(_ body: inout BoundedBody, _ pieces: [String]) -> [BoundedBody.Progress] {
        pieces.map { piece in
            var buffer = ByteBuffer(string: piece)
            return body.feed(&buffer)
        }
    }

    @Test("a sized body completes across pieces and leaves the next request's bytes alone")
    func sized() throws {
        var body = try #require(BoundedBody(framing: .contentLength(5), limit: 10))
        #expect(feed(&body, ["he"]) == [.needMore])
        var rest = ByteBuffer(string: "lloGET /")
        #expect(body.feed(&rest) == .complete(Array("hello".utf8)))
        #expect(rest.readableBytes == 5)
    }

    @Test("a Content-Length over the limit is refused before any byte is read")
    func sizedTooLarge() {
        #expect(BoundedBody(framing: .contentLength(11), limit: 10) == nil)
    }

    @Test("no body is complete at once")
    func empty() throws {
        var body = try #require(BoundedBody(framing: .none, limit: 10))
        #expect(feed(&body, [""]) == [.complete([])])
    }

    @Test("a chunked body is decoded, limited, and malformed framing is refused")
    func chunked() throws {
        var body = try #require(BoundedBody(framing: .chunked, limit: 10))
        #expect(feed(&body, ["3\r\nabc\r\n", "2\r\nde\r\n0\r\n\r\n"]) == [.needMore, .complete(Array("abcde".utf8))])
        var large = try #require(BoundedBody(framing: .chunked, limit: 4))
        #expect(feed(&large, ["5\r\nabcde\r\n"]) == [.tooLarge])
        var broken = try #require(BoundedBody(framing: .chunked, limit: 10))
        #expect(feed(&broken, ["zz\r\n"]) == [.malformed])
    }
}
