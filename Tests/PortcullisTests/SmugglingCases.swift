import Testing

/// One request crafted so that two HTTP parsers could read it two ways: its exact bytes and a
/// name that says what is wrong (or lawful) about it. The catalogue `SmugglingTests` runs.
///
/// Every request is for `/open/...`, a route with `auth: none`, so an answer comes from the
/// framing and never from a token check.
struct HostileRequest: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    /// A refusal that leaves the connection open: the head was read without ambiguity and had
    /// no body, so the next request on the connection is framed as well as any other.
    var keepsConnection = false

    var testDescription: String { name }

    /// A well-framed request that would reach the upstream if a refused request were read as two.
    static let smuggled = "GET /open/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n"

    /// `POST /open/probe` with `headers` (each ending in CRLF) and `body` after the head.
    static func post(_ name: String, _ headers: String, body: String = "") -> HostileRequest {
        HostileRequest(name: name, text: "POST /open/probe HTTP/1.1\r\nHost: gw\r\n" + headers + "\r\n" + body)
    }

    /// `POST /open/probe` with `headers`, and `smuggled` as one chunk for a body: what an
    /// upstream reading the body as chunked would take for a request of its own.
    static func framed(_ name: String, _ headers: String) -> HostileRequest {
        post(name, headers, body: smuggledChunk)
    }

    /// A chunked `POST /open/probe` whose head is lawful: what is wrong is in `body`.
    static func chunked(_ name: String, body: String) -> HostileRequest {
        post(name, "Transfer-Encoding: chunked\r\n", body: body)
    }

    /// `GET /open/probe` with `headers` (each ending in CRLF).
    static func get(_ name: String, _ headers: String) -> HostileRequest {
        HostileRequest(name: name, text: "GET /open/probe HTTP/1.1\r\nHost: gw\r\n" + headers + "\r\n")
    }

    static func raw(_ name: String, _ text: String, keepsConnection: Bool = false) -> HostileRequest {
        HostileRequest(name: name, text: text, keepsConnection: keepsConnection)
    }

    /// `smuggled` as one chunk, then the last chunk.
    private static let smuggledChunk = String(smuggled.utf8.count, radix: 16) + "\r\n" + smuggled + "\r\n0\r\n\r\n"

    /// Answered 400 `bad_request` (SPEC section 3: unparseable or ambiguous HTTP, a bad path).
    static let refused: [HostileRequest] = bothLengths + transferEncodings + contentLengths + chunkFraming
        + lineEndings + injections + targets + syntax

    /// Content-Length and Transfer-Encoding together: which one frames the body is the whole
    /// question, so neither is trusted.
    static let bothLengths: [HostileRequest] = [
        post(
            "CL.TE: Content-Length then Transfer-Encoding: chunked",
            "Content-Length: \(5 + smuggled.utf8.count)\r\nTransfer-Encoding: chunked\r\n",
            body: "0\r\n\r\n" + smuggled
        ),
        post(
            "CL.TE: Transfer-Encoding: chunked then Content-Length",
            "Transfer-Encoding: chunked\r\nContent-Length: \(5 + smuggled.utf8.count)\r\n",
            body: "0\r\n\r\n" + smuggled
        ),
        framed("TE.CL: Content-Length covering the size line only", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"),
        framed("TE.CL: lowercase names", "transfer-encoding: chunked\r\ncontent-length: 4\r\n"),
        framed("TE.CL: Content-Length: 0 with chunked", "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"),
        // Not a framing header to the gateway, but `Transfer-Encoding` to a CGI-style upstream
        // that maps `_` to `-`: the upstream would read chunks where the gateway sent 4 bytes.
        framed("Transfer_Encoding (underscore) with Content-Length", "Transfer_Encoding: chunked\r\nContent-Length: 4\r\n"),
        framed("Content_Length (underscore) with Transfer-Encoding", "Content_Length: 4\r\nTransfer-Encoding: chunked\r\n"),
    ]

    /// SPEC: a Transfer-Encoding other than exactly `chunked` (case-insensitive) is 400.
    static let transferEncodings: [HostileRequest] = [
        framed("Transfer-Encoding: chunked, identity", "Transfer-Encoding: chunked, identity\r\n"),
        framed("Transfer-Encoding: identity, chunked", "Transfer-Encoding: identity, chunked\r\n"),
        framed("Transfer-Encoding: gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n"),
        framed("Transfer-Encoding: xchunked", "Transfer-Encoding: xchunked\r\n"),
        framed("Transfer-Encoding: chunk", "Transfer-Encoding: chunk\r\n"),
        framed("Transfer-Encoding: chunked with trailing junk", "Transfer-Encoding: chunked junk\r\n"),
        framed("Transfer-Encoding: chunked;q=1 (a parameter)", "Transfer-Encoding: chunked;q=1\r\n"),
        // RFC 9110 section 5.6.1 would drop the empty list element; the SPEC wants exactly `chunked`.
        framed("Transfer-Encoding: chunked, (empty list element)", "Transfer-Encoding: chunked,\r\n"),
        framed("Transfer-Encoding: \"chunked\" (quoted)", "Transfer-Encoding: \"chunked\"\r\n"),
        framed("Transfer-Encoding: chunked then a vertical tab", "Transfer-Encoding: chunked\u{0B}\r\n"),
        framed("Transfer-Encoding : chunked (space before the colon)", "Transfer-Encoding : chunked\r\n"),
        framed("Transfer-Encoding<TAB>: chunked (tab before the colon)", "Transfer-Encoding\t: chunked\r\n"),
        framed("Transfer-Encoding: chunked twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        framed("Transfer-Encoding: chunked, then identity", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
        framed("Transfer-Encoding: identity, then chunked", "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n"),
        // HTTP/1.0 has no chunked coding (RFC 9112 section 6.1): a 1.0 server reads to close.
        raw(
            "Transfer-Encoding on an HTTP/1.0 request",
            "POST /open/probe HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggledChunk
        ),
    ]

    /// SPEC: more than one Content-Length, or a list in one, is 400; so is anything but digits.
    static let contentLengths: [HostileRequest] = [
        post("two Content-Length headers, same value", "Content-Length: 4\r\nContent-Length: 4\r\n", body: "abcd"),
        post(
            "two Content-Length headers, different values", "Content-Length: 4\r\nContent-Length: 45\r\n",
            body: "abcd" + smuggled
        ),
        post("Content-Length: 1, 1", "Content-Length: 1, 1\r\n", body: "a"),
        post("Content-Length: 4 4 (space inside)", "Content-Length: 4 4\r\n", body: "abcd"),
        post("Content-Length: +5", "Content-Length: +5\r\n", body: "abcde"),
        post("Content-Length: -1", "Content-Length: -1\r\n"),
        post("Content-Length: 0x10", "Content-Length: 0x10\r\n", body: "0123456789abcdef"),
        post("Content-Length beyond Int64", "Content-Length: 99999999999999999999999\r\n"),
        post("Content-Length with an empty value", "Content-Length: \r\n"),
        post("Content-Length: 5 followed by a NUL", "Content-Length: 5\u{0}\r\n", body: "abcde"),
    ]

    /// SPEC: invalid chunk framing is 400. The head is lawful, so these are refused by the
    /// body decoder, after a pooled upstream connection was leased: none of it may be sent.
    static let chunkFraming: [HostileRequest] = [
        chunked("chunk size that is not hex", body: "zz\r\nhello\r\n0\r\n\r\n"),
        chunked("chunk size with a 0x prefix", body: "0x5\r\nhello\r\n0\r\n\r\n"),
        chunked("negative chunk size", body: "-5\r\nhello\r\n0\r\n\r\n"),
        chunked("chunk size of 17 hex digits (overflows 64 bits)", body: "10000000000000005\r\nhello\r\n0\r\n\r\n"),
        chunked("chunk size over 2^48", body: "1000000000001\r\nhello\r\n0\r\n\r\n"),
        chunked("empty chunk size line", body: "\r\nhello\r\n0\r\n\r\n"),
        // RFC 9112 allows whitespace before `;`; the gateway allows none, so no two readings.
        chunked("chunk size followed by a space", body: "5 \r\nhello\r\n0\r\n\r\n"),
        chunked(
            "chunk extension over 4 KiB", body: "5;ext=" + String(repeating: "a", count: 5000) + "\r\nhello\r\n0\r\n\r\n"
        ),
        chunked("chunk extension with a control byte", body: "5;ext=a\u{1}b\r\nhello\r\n0\r\n\r\n"),
        chunked("chunk extension ended by a bare LF", body: "5;ext\nhello\r\n0\r\n\r\n"),
        chunked("chunk data longer than its size", body: "3\r\nhello\r\n0\r\n\r\n"),
        chunked("chunk data not followed by CRLF", body: "5\r\nhelloXX0\r\n\r\n"),
        chunked("bare LF after the chunk size", body: "5\nhello\r\n0\r\n\r\n"),
        chunked("bare LF after the chunk data", body: "5\r\nhello\n0\r\n\r\n"),
        chunked("bare CR after the chunk size", body: "5\rhello\r\n0\r\n\r\n"),
        chunked("bare LF after the last chunk", body: "5\r\nhello\r\n0\n\r\n"),
        chunked("trailer line without a colon", body: "5\r\nhello\r\n0\r\nnot a field\r\n\r\n"),
        chunked("trailer line with a space before the colon", body: "5\r\nhello\r\n0\r\nX-T : v\r\n\r\n"),
        chunked("trailer folded onto a second line", body: "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n"),
        chunked("trailer with a NUL", body: "5\r\nhello\r\n0\r\nX-T: a\u{0}b\r\n\r\n"),
        chunked("trailer ended by a bare LF", body: "5\r\nhello\r\n0\r\nX-T: a\n\r\n"),
        chunked(
            "trailers over 16 KiB", body: "5\r\nhello\r\n0\r\nX-T: " + String(repeating: "a", count: 17000) + "\r\n\r\n"
        ),
    ]

    /// SPEC: bare LF and obsolete line folding are 400; a bare CR is unparseable.
    static let lineEndings: [HostileRequest] = [
        raw("bare LF ending the request line", "GET /open/probe HTTP/1.1\nHost: gw\r\n\r\n"),
        raw("bare LF ending a header line", "GET /open/probe HTTP/1.1\r\nHost: gw\nX-A: 1\r\n\r\n"),
        raw("bare LF ending the head", "GET /open/probe HTTP/1.1\r\nHost: gw\r\n\n"),
        raw("bare LF line endings only", "GET /open/probe HTTP/1.1\nHost: gw\n\n"),
        raw("bare CR ending the request line", "GET /open/probe HTTP/1.1\rHost: gw\r\n\r\n"),
        raw("bare CR ending a header line", "GET /open/probe HTTP/1.1\r\nHost: gw\rX-A: 1\r\n\r\n"),
        raw("bare CR starting a header line", "GET /open/probe HTTP/1.1\r\nHost: gw\r\n\rTransfer-Encoding: chunked\r\n\r\n"),
        get("header folded with a space (obs-fold)", "X-A: a\r\n b\r\n"),
        get("header folded with a tab (obs-fold)", "X-A: a\r\n\tb\r\n"),
        framed("Transfer-Encoding value folded onto the next line", "Transfer-Encoding:\r\n chunked\r\n"),
        raw("whitespace before the first header line", "GET /open/probe HTTP/1.1\r\n Host: gw\r\n\r\n"),
    ]

    /// CR, LF or NUL where they could reach the upstream inside a forwarded value or path.
    static let injections: [HostileRequest] = [
        get("CR inside a forwarded header value", "X-Note: a\rTransfer-Encoding: chunked\r\n"),
        get("LF inside a forwarded header value", "X-Note: a\nTransfer-Encoding: chunked\r\n"),
        get("NUL in a header value", "X-Note: a\u{0}b\r\n"),
        get("NUL in a header name", "X-No\u{0}te: a\r\n"),
        raw("NUL in the path", "GET /open/pro\u{0}be HTTP/1.1\r\nHost: gw\r\n\r\n"),
        // A bad path is refused after the head was read without ambiguity: 400, kept alive.
        raw("encoded NUL in the path (%00)", "GET /open/pro%00be HTTP/1.1\r\nHost: gw\r\n\r\n", keepsConnection: true),
    ]

    /// Targets that are not origin-form. The SPEC routes on normalized paths and is silent on
    /// the other forms, so the safer reading for an auth gateway is taken: refuse them (Envoy
    /// does by default; nginx would route absolute-form by its path and ignore the Host header).
    static let targets: [HostileRequest] = [
        raw("absolute-form target", "GET http://evil.example/open/probe HTTP/1.1\r\nHost: gw\r\n\r\n"),
        raw("absolute-form target naming the Host", "GET http://gw/open/probe HTTP/1.1\r\nHost: gw\r\n\r\n"),
        raw("CONNECT authority-form target", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n"),
        raw("OPTIONS asterisk-form target", "OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n"),
    ]

    /// Heads that do not parse as HTTP/1.1 (or 1.0) at all.
    static let syntax: [HostileRequest] = [
        get("space inside a header name", "Bad Header: x\r\n"),
        get("DEL in a header name", "X-Foo\u{7F}: y\r\n"),
        get("header line without a colon", "NoColonHere\r\n"),
        get("header line with an empty name", ": x\r\n"),
        get("two Host headers", "Host: other.example\r\n"),
        raw("no Host header in HTTP/1.1", "GET /open/probe HTTP/1.1\r\n\r\n"),
        raw("two spaces after the method", "GET  /open/probe HTTP/1.1\r\nHost: gw\r\n\r\n"),
        raw("two spaces before the version", "GET /open/probe  HTTP/1.1\r\nHost: gw\r\n\r\n"),
        raw("space after the version", "GET /open/probe HTTP/1.1 \r\nHost: gw\r\n\r\n"),
        raw("tab between method and target", "GET\t/open/probe HTTP/1.1\r\nHost: gw\r\n\r\n"),
        raw("space before the method", " GET /open/probe HTTP/1.1\r\nHost: gw\r\n\r\n"),
        // Methods are case-sensitive and route rules compare them exactly, but some upstreams
        // fold case: `get` could miss a `methods:` rule here and act as GET there.
        raw("lowercase method get", "get /open/probe HTTP/1.1\r\nHost: gw\r\n\r\n"),
        raw("mixed-case method Post", "Post /open/probe HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n"),
        raw("no version (HTTP/0.9 request line)", "GET /open/probe\r\n\r\n"),
        raw("HTTP/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        // RFC 9110 section 2.5 would read 1.2 as 1.1; the SPEC maps an unparseable head to 400
        // and the gateway speaks 1.0 and 1.1 only, so any other version is refused, not guessed.
        raw("HTTP/1.2", "GET /open/probe HTTP/1.2\r\nHost: gw\r\n\r\n"),
        raw("HTTP/9.9", "GET /open/probe HTTP/9.9\r\nHost: gw\r\n\r\n"),
        raw("lowercase http/1.1", "GET /open/probe http/1.1\r\nHost: gw\r\n\r\n"),
        raw("HTTP/1.10", "GET /open/probe HTTP/1.10\r\nHost: gw\r\n\r\n"),
    ]

    /// The plain chunked request the `accepted` variants are compared with.
    static let plainChunked = "POST /open/probe HTTP/1.1\r\nHost: gw\r\nX-Request-Id: smuggle-probe\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"

    /// Lawful spellings of `plainChunked` (RFC 9110/9112, and the SPEC's "exactly `chunked`,
    /// case-insensitive"). Not 400: each is forwarded byte for byte as `plainChunked` is, since
    /// the gateway writes its own `Transfer-Encoding: chunked` and its own chunk framing.
    static let accepted: [HostileRequest] = [
        variant("Transfer-Encoding:<TAB>chunked (a tab is OWS)", "Transfer-Encoding:\tchunked\r\n"),
        variant("Transfer-Encoding:chunked (no OWS)", "Transfer-Encoding:chunked\r\n"),
        variant("Transfer-Encoding: chunked with trailing OWS", "Transfer-Encoding: chunked \t \r\n"),
        variant("TrAnSfEr-EnCoDiNg: ChUnKeD (names and codings are case-insensitive)", "TrAnSfEr-EnCoDiNg: ChUnKeD\r\n"),
        variant("chunk extension 5;ext=val (dropped)", "Transfer-Encoding: chunked\r\n", body: "5;ext=val\r\nhello\r\n0\r\n\r\n"),
        variant(
            "quoted chunk extensions on every chunk (dropped)", "Transfer-Encoding: chunked\r\n",
            body: "5;a=\"x y\";b\r\nhello\r\n0;end=1\r\n\r\n"
        ),
        variant("chunk sizes with leading zeros", "Transfer-Encoding: chunked\r\n", body: "05\r\nhello\r\n000\r\n\r\n"),
        variant("a trailer field (dropped)", "Transfer-Encoding: chunked\r\n", body: "5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"),
        // RFC 9110 section 6.5.1 forbids framing fields in trailers; they are dropped with the
        // rest of the trailer section, so they can frame nothing upstream.
        variant(
            "framing fields in the trailer (dropped)", "Transfer-Encoding: chunked\r\n",
            body: "5\r\nhello\r\n0\r\nContent-Length: 5\r\nTransfer-Encoding: identity\r\n\r\n"
        ),
    ]

    private static func variant(
        _ name: String, _ transferEncoding: String, body: String = "5\r\nhello\r\n0\r\n\r\n"
    ) -> HostileRequest {
        let head = "POST /open/probe HTTP/1.1\r\nHost: gw\r\nX-Request-Id: smuggle-probe\r\n" + transferEncoding
        return raw(name, head + "\r\n" + body)
    }
}
