import NIOCore
import Testing

@testable import Portcullis

@Suite("Request head parsing")
struct HeadParserTests {
    private func scanAndParse(_ text: String, limit: Int = 16384) -> Result<RequestHead, HeadParseError> {
        var scanner = HeadScanner()
        let buffer = ByteBuffer(string: text)
        switch scanner.scan(buffer, limit: limit) {
        case .complete(let length):
            return HeadParser.parseRequest(buffer.getSlice(at: 0, length: length)!)
        case .bareLineFeed: return .failure(HeadParseError(reason: "bare LF"))
        case .tooLarge: return .failure(HeadParseError(reason: "too large"))
        case .needMore: return .failure(HeadParseError(reason: "incomplete"))
        }
    }

    @Test("parses method, path, query, headers and framing of a valid request")
    func parsesValidRequest() throws {
        let head = try scanAndParse(
            "POST /api/x?y=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nX-A:  padded  \r\n\r\n"
        ).get()
        #expect(head.string(head.method) == "POST")
        #expect(head.string(head.path) == "/api/x")
        #expect(head.string(head.query) == "?y=1")
        #expect(head.framing == .contentLength(5))
        #expect(head.keepAlive)
        #expect(head.fields.map { head.string($0.value) } == ["a.example", "5", "padded"])
        #expect(head.field(.host) != nil)
    }

    @Test("accepts chunked in any case and HTTP/1.0 keep-alive")
    func framingVariants() throws {
        let chunked = try scanAndParse("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ChUnKeD\r\n\r\n").get()
        #expect(chunked.framing == .chunked)
        let old = try scanAndParse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").get()
        #expect(old.keepAlive)
        let close = try scanAndParse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").get()
        #expect(!close.keepAlive)
    }

    @Test(
        "refuses ambiguous or malformed heads",
        arguments: [
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",  // CL.TE
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",  // TE.CL
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n",  // space before colon
            "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding\t: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",  // obs-fold
            "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{0}b\r\n\r\n",  // NUL
            "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n",  // bare CR
            "GET / HTTP/1.1\r\n\r\n",  // no Host
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n",  // absolute form
            "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
            "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\n: empty-name\r\nHost: h\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\n\rX-A: a\r\n\r\n",  // bare CR starting a line
            "get / HTTP/1.1\r\nHost: h\r\n\r\n",  // lowercase method
            "Get / HTTP/1.1\r\nHost: h\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer_Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: h\r\ncontent_LENGTH: 4\r\n\r\n",
        ]
    )
    func refusesAmbiguous(text: String) {
        #expect(throws: HeadParseError.self) { try scanAndParse(text).get() }
    }

    @Test("accepts methods of uppercase tokens and other underscored names")
    func lawfulTokens() throws {
        let head = try scanAndParse("VERSION-CONTROL / HTTP/1.1\r\nHost: h\r\nX_Custom_Length: 4\r\n\r\n").get()
        #expect(head.string(head.method) == "VERSION-CONTROL")
        #expect(head.framing == .none)
        #expect(head.fields.map(\.kind) == [.host, .other])
    }

    @Test("refuses bare LF line endings anywhere in the head")
    func refusesBareLF() {
        var scanner = HeadScanner()
        #expect(scanner.scan(ByteBuffer(string: "GET / HTTP/1.1\nHost: h\r\n\r\n"), limit: 1000) == .bareLineFeed)
        scanner.reset()
        #expect(scanner.scan(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: h\n\r\n"), limit: 1000) == .bareLineFeed)
    }

    @Test("finds the end of a head split across many reads, and enforces the size limit")
    func scansIncrementally() {
        var scanner = HeadScanner()
        let text = "GET / HTTP/1.1\r\nHost: h\r\n\r\nrest"
        var buffer = ByteBuffer()
        var outcome = HeadScanner.Outcome.needMore
        for byte in text.utf8 {
            buffer.writeInteger(byte)
            outcome = scanner.scan(buffer, limit: 1000)
            if outcome != .needMore { break }
        }
        #expect(outcome == .complete(length: text.utf8.count - 4))
        scanner.reset()
        #expect(scanner.scan(ByteBuffer(string: "GET /" + String(repeating: "a", count: 100)), limit: 50) == .tooLarge)
    }

    @Test("marks headers named by Connection as hop-by-hop")
    func connectionNamedHeaders() throws {
        let head = try scanAndParse("GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Secret, close\r\nX-Secret: 1\r\nX-Kept: 2\r\n\r\n").get()
        #expect(head.fields.filter(\.namedByConnection).map { head.string($0.name) } == ["X-Secret"])
    }

    @Test("parses response framing by status, method and headers")
    func responseFraming() throws {
        func parse(_ text: String, head isHead: Bool = false) throws -> ResponseHead {
            try HeadParser.parseResponse(ByteBuffer(string: text), requestIsHead: isHead).get()
        }
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n").framing == .contentLength(3))
        #expect(try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").framing == .chunked)
        #expect(try parse("HTTP/1.1 200 OK\r\n\r\n").framing == .untilClose)
        #expect(try parse("HTTP/1.1 204 No Content\r\n\r\n").framing == .none)
        #expect(try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", head: true).framing == .none)
        #expect(try !parse("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n").keepAlive)
        #expect(throws: HeadParseError.self) { try parse("HTTP/1.1 2x0 OK\r\n\r\n") }
        // Found by FuzzUpstreamResponse: the reason phrase is passed on, so it may not carry
        // a NUL, a bare CR or another control byte; tab and non-ASCII are lawful.
        for reason in ["No\u{0}t Modified", "OK\rX-Injected: 1", "O\u{1}K", "O\u{7F}K"] {
            #expect(throws: HeadParseError.self, "\(reason.debugDescription)") { try parse("HTTP/1.1 304 \(reason)\r\n\r\n") }
        }
        #expect(try parse("HTTP/1.1 200 \tOK caf\u{E9}\r\nContent-Length: 0\r\n\r\n").status == 200)
        #expect(try parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").status == 200)
        // Passed on, these would let the client frame the body differently from the gateway.
        #expect(throws: HeadParseError.self) { try parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") }
        #expect(throws: HeadParseError.self) { try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", head: true) }
        #expect(throws: HeadParseError.self) { try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n") }
    }
}

@Suite("Chunked decoding")
struct ChunkedDecoderTests {
    private func decode(_ pieces: [String]) throws -> (data: String, ended: Bool, rest: String) {
        var decoder = ChunkedDecoder()
        var data = ""
        var ended = false
        var rest = ByteBuffer()
        for piece in pieces {
            rest.writeString(piece)
            loop: while true {
                switch try decoder.next(&rest) {
                case .data(let slice): data += String(buffer: slice)
                case .needMore: break loop
                case .end:
                    ended = true
                    break loop
                }
            }
            if ended { break }
        }
        return (data, ended, String(buffer: rest))
    }

    @Test("decodes chunks with extensions and trailers, split at every byte")
    func decodesSplit() throws {
        let text = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT"
        let whole = try decode([text])
        #expect(whole.data == "hello world" && whole.ended && whole.rest == "NEXT")
        let split = try decode(text.map { String($0) })
        #expect(split.data == "hello world" && split.ended)
    }

    @Test("measures a passed-through body to its end, wherever the reads split it")
    func measuresSplit() throws {
        let body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        let bytes = Array((body + "HTTP/1.1 200 OK\r\n").utf8)
        for split in 0...bytes.count {
            var decoder = ChunkedDecoder()
            let first = try decoder.measure(ByteBuffer(bytes: bytes[..<split]))
            var total = first.length
            var ended = first.ended
            if !ended {
                #expect(first.length == split, "a read that does not end the body is all body")
                let second = try decoder.measure(ByteBuffer(bytes: bytes[split...]))
                total += second.length
                ended = second.ended
            }
            #expect(ended && total == body.utf8.count, "split at \(split)")
        }
    }

    @Test(
        "refuses invalid framing",
        arguments: [
            "x\r\n", "5\nhello\r\n", "5\r\nhelloXX", "5\r\nhello\n0\r\n\r\n", "-1\r\n", ";\r\n",
            "1000000000000\r\n", "5;a\u{0}\r\n", "0\r\n\u{1}x\r\n\r\n", "0\r\n\n", " 5\r\n",
            "0\r\nno-colon\r\n\r\n", "0\r\nX-T : v\r\n\r\n", "0\r\nX-T\u{0}: v\r\n\r\n",
        ]
    )
    func refusesInvalid(text: String) {
        #expect(throws: ChunkedDecoder.FramingError.self) { _ = try decode([text]) }
    }
}
