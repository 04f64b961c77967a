import NIOCore

/// Why a head was refused. Request heads map to 400; response heads to 502.
package struct HeadParseError: Error, Equatable, Sendable {
    var reason: String
}

/// Strict HTTP/1.1 head parsing over the bytes of a complete head (as found by `HeadScanner`).
///
/// Refuses everything SPEC section 3 lists as ambiguous: both Content-Length and
/// Transfer-Encoding, several Content-Lengths or a list in one, a Transfer-Encoding other
/// than exactly `chunked`, obsolete line folding, whitespace before a colon, control bytes
/// in values, a bare CR, a missing or repeated Host, and request targets that are not
/// origin-form. Two refusals go beyond the SPEC's list, for upstreams that read a head more
/// loosely: a method with lowercase letters, and `Content_Length` / `Transfer_Encoding`.
package enum HeadParser {
    package static func parseRequest(_ head: ByteBuffer) -> Result<RequestHead, HeadParseError> {
        head.withUnsafeReadableBytes { raw in
            parseRequest(raw, head: head)
        }
    }

    package static func parseResponse(_ head: ByteBuffer, requestIsHead: Bool) -> Result<ResponseHead, HeadParseError> {
        head.withUnsafeReadableBytes { raw in
            parseResponse(raw, head: head, requestIsHead: requestIsHead)
        }
    }

    private static func lineEnd(_ raw: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index + 1 < raw.count, !(raw[index] == 0x0D && raw[index + 1] == 0x0A) { index += 1 }
        return index
    }

    private static func parseVersion(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> HTTPVersion? {
        guard range.count == 8 else { return nil }
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        for offset in 0..<7 where raw[range.lowerBound + offset] != prefix[offset] { return nil }
        switch raw[range.lowerBound + 7] {
        case UInt8(ascii: "1"): return .http11
        case UInt8(ascii: "0"): return .http10
        default: return nil
        }
    }

    private static func parseRequest(_ raw: UnsafeRawBufferPointer, head: ByteBuffer) -> Result<RequestHead, HeadParseError> {
        let lineEnd = lineEnd(raw, from: 0)
        var index = 0
        while index < lineEnd, HeaderNames.isMethodByte(raw[index]) { index += 1 }
        guard index > 0, index < lineEnd, raw[index] == 0x20 else {
            return .failure(HeadParseError(reason: "malformed request line"))
        }
        let method = 0..<index
        index += 1
        let targetStart = index
        while index < lineEnd, raw[index] > 0x20, raw[index] != 0x7F { index += 1 }
        guard index > targetStart, index < lineEnd, raw[index] == 0x20 else {
            return .failure(HeadParseError(reason: "malformed request line"))
        }
        let target = targetStart..<index
        guard let version = parseVersion(raw, index + 1..<lineEnd) else {
            return .failure(HeadParseError(reason: "unsupported HTTP version"))
        }
        guard raw[targetStart] == UInt8(ascii: "/") else {
            return .failure(HeadParseError(reason: "the request target must be an absolute path"))
        }
        var queryStart = target.upperBound
        for position in target where raw[position] == UInt8(ascii: "?") {
            queryStart = position
            break
        }

        var fields: [HeaderField] = []
        fields.reserveCapacity(16)
        switch parseFields(raw, from: lineEnd + 2, into: &fields) {
        case .failure(let error): return .failure(error)
        case .success: break
        }

        var request = RequestHead(
            bytes: head, method: method, path: target.lowerBound..<queryStart, query: queryStart..<target.upperBound,
            version: version, fields: fields, framing: .none, keepAlive: version == .http11,
            expectsContinue: false, wantsWebSocket: false
        )
        var hostCount = 0
        var contentLength: Int?
        var chunked = false
        var wantsUpgrade = false
        for field in fields {
            switch field.kind {
            case .host:
                hostCount += 1
            case .contentLength:
                guard contentLength == nil else {
                    return .failure(HeadParseError(reason: "more than one Content-Length header"))
                }
                guard let length = parseContentLength(raw, field.value) else {
                    return .failure(HeadParseError(reason: "invalid Content-Length"))
                }
                contentLength = length
            case .transferEncoding:
                guard !chunked else { return .failure(HeadParseError(reason: "more than one Transfer-Encoding header")) }
                guard HeaderNames.equalsLowercased(raw, field.value, "chunked") else {
                    return .failure(HeadParseError(reason: "unsupported Transfer-Encoding"))
                }
                chunked = true
            case .connection:
                forEachToken(raw, field.value) { token in
                    if HeaderNames.equalsLowercased(raw, token, "close") {
                        request.keepAlive = false
                    } else if HeaderNames.equalsLowercased(raw, token, "keep-alive") {
                        if version == .http10 { request.keepAlive = true }
                    } else if HeaderNames.equalsLowercased(raw, token, "upgrade") {
                        wantsUpgrade = true
                    }
                }
            case .expect:
                request.expectsContinue = HeaderNames.equalsLowercased(raw, field.value, "100-continue")
            case .upgrade:
                if HeaderNames.equalsLowercased(raw, field.value, "websocket") { request.wantsWebSocket = true }
            case .framingLookalike:
                return .failure(HeadParseError(reason: "a framing header spelled with an underscore"))
            default:
                break
            }
        }
        if let error = markConnectionNamed(raw, &request.fields) { return .failure(error) }
        guard hostCount <= 1 else { return .failure(HeadParseError(reason: "more than one Host header")) }
        guard hostCount == 1 || version == .http10 else { return .failure(HeadParseError(reason: "missing Host header")) }
        if chunked {
            guard contentLength == nil else {
                return .failure(HeadParseError(reason: "both Content-Length and Transfer-Encoding"))
            }
            guard version == .http11 else { return .failure(HeadParseError(reason: "Transfer-Encoding in HTTP/1.0")) }
            request.framing = .chunked
        } else if let contentLength, contentLength > 0 {
            request.framing = .contentLength(contentLength)
        }
        // A handshake has no body (RFC 6455 section 4.1). One that carries a body is forwarded
        // as an ordinary request, so no byte can be body to one side and tunnel to the other.
        request.wantsWebSocket = request.wantsWebSocket && wantsUpgrade && version == .http11
            && request.framing == .none && method.count == 3
            && raw[0] == UInt8(ascii: "G") && raw[1] == UInt8(ascii: "E") && raw[2] == UInt8(ascii: "T")
        return .success(request)
    }

    private static func parseResponse(
        _ raw: UnsafeRawBufferPointer, head: ByteBuffer, requestIsHead: Bool
    ) -> Result<ResponseHead, HeadParseError> {
        let lineEnd = lineEnd(raw, from: 0)
        guard lineEnd >= 12, let version = parseVersion(raw, 0..<8), raw[8] == 0x20,
            (9..<12).allSatisfy({ raw[$0] >= UInt8(ascii: "0") && raw[$0] <= UInt8(ascii: "9") }),
            lineEnd == 12 || raw[12] == 0x20
        else {
            return .failure(HeadParseError(reason: "malformed status line"))
        }
        let status = (9..<12).reduce(0) { $0 * 10 + Int(raw[$1] - UInt8(ascii: "0")) }
        guard status >= 100 else { return .failure(HeadParseError(reason: "malformed status line")) }
        // The reason phrase goes to the client as is: the bytes of a field value only (RFC 9112
        // section 4), so no NUL, bare CR or other control byte rides along.
        for index in min(13, lineEnd)..<lineEnd where !HeaderNames.isValueByte(raw[index]) {
            return .failure(HeadParseError(reason: "control byte in the reason phrase"))
        }
        var fields: [HeaderField] = []
        fields.reserveCapacity(16)
        if case .failure(let error) = parseFields(raw, from: lineEnd + 2, into: &fields) { return .failure(error) }

        var response = ResponseHead(
            bytes: head, status: status, statusLine: 0..<lineEnd, version: version, fields: fields,
            framing: .untilClose, keepAlive: version == .http11
        )
        var contentLength: Int?
        var transferEncoding: Range<Int>?
        for field in fields {
            switch field.kind {
            case .contentLength:
                guard let length = parseContentLength(raw, field.value), contentLength == nil || contentLength == length else {
                    return .failure(HeadParseError(reason: "invalid Content-Length from upstream"))
                }
                contentLength = length
            case .transferEncoding:
                // Several fields would be read as one list by some clients and as the last
                // field by others; this parser reads one.
                guard transferEncoding == nil else {
                    return .failure(HeadParseError(reason: "Transfer-Encoding repeated in the upstream response"))
                }
                transferEncoding = field.value
            case .connection:
                forEachToken(raw, field.value) { token in
                    if HeaderNames.equalsLowercased(raw, token, "close") {
                        response.keepAlive = false
                    } else if HeaderNames.equalsLowercased(raw, token, "keep-alive"), version == .http10 {
                        response.keepAlive = true
                    }
                }
            default:
                break
            }
        }
        // Both are passed on to the client, which might frame the body by the other one
        // (RFC 9112 section 6.3: a possible response-splitting attempt).
        if transferEncoding != nil && contentLength != nil {
            return .failure(HeadParseError(reason: "both Content-Length and Transfer-Encoding from upstream"))
        }
        if let error = markConnectionNamed(raw, &response.fields) { return .failure(error) }
        if requestIsHead || status < 200 || status == 204 || status == 304 {
            response.framing = .none
        } else if let transferEncoding {
            // RFC 9112 section 6.3: chunked as the final coding delimits; anything else reads to close.
            var last: Range<Int>?
            forEachToken(raw, transferEncoding) { last = $0 }
            if let last, HeaderNames.equalsLowercased(raw, last, "chunked") {
                response.framing = .chunked
            } else {
                response.framing = .untilClose
                response.keepAlive = false
            }
        } else if let contentLength {
            response.framing = contentLength == 0 ? .none : .contentLength(contentLength)
        } else {
            response.keepAlive = false
        }
        return .success(response)
    }

    /// Parses header lines from `start` up to the empty line.
    private static func parseFields(
        _ raw: UnsafeRawBufferPointer, from start: Int, into fields: inout [HeaderField]
    ) -> Result<Void, HeadParseError> {
        var index = start
        while index + 1 < raw.count {
            if raw[index] == 0x0D {
                // The final CRLF: HeadScanner ended the head at the first CRLFCRLF, so a CR
                // followed by LF here is its last two bytes. Any other CR would be skipped unread.
                guard raw[index + 1] == 0x0A else { return .failure(HeadParseError(reason: "bare CR in a header")) }
                return .success(())
            }
            if raw[index] == 0x20 || raw[index] == 0x09 {
                return .failure(HeadParseError(reason: "obsolete line folding"))
            }
            let nameStart = index
            while HeaderNames.isToken(raw[index]) { index += 1 }
            guard index > nameStart, raw[index] == UInt8(ascii: ":") else {
                return .failure(HeadParseError(reason: "malformed header line"))
            }
            let name = nameStart..<index
            index += 1
            while raw[index] == 0x20 || raw[index] == 0x09 { index += 1 }
            let valueStart = index
            var valueEnd = index
            while raw[index] != 0x0D {
                let byte = raw[index]
                guard HeaderNames.isValueByte(byte) else {
                    return .failure(HeadParseError(reason: "invalid character in a header value"))
                }
                index += 1
                if byte != 0x20 && byte != 0x09 { valueEnd = index }
            }
            // Every CR in a head scanned by HeadScanner is followed by LF, or the value check fails.
            guard raw[index + 1] == 0x0A else { return .failure(HeadParseError(reason: "bare CR in a header")) }
            fields.append(
                HeaderField(name: name, value: valueStart..<valueEnd, kind: HeaderNames.classify(raw, name))
            )
            index += 2
        }
        return .failure(HeadParseError(reason: "truncated head"))
    }

    /// 1 to 18 decimal digits and nothing else (no sign, no list, no spaces).
    private static func parseContentLength(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for index in range {
            let byte = raw[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// Calls `body` with each comma-separated token of a list value, trimmed of OWS.
    static func forEachToken(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        var index = range.lowerBound
        while index < range.upperBound {
            while index < range.upperBound, raw[index] == 0x20 || raw[index] == 0x09 || raw[index] == 0x2C { index += 1 }
            let start = index
            while index < range.upperBound, raw[index] != 0x2C { index += 1 }
            var end = index
            while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x09 { end -= 1 }
            if end > start { body(start..<end) }
        }
    }

    /// Marks every field whose name a `Connection` header lists, so it is not forwarded.
    ///
    /// Refuses a head whose `Connection` names its Host, Content-Length or Transfer-Encoding:
    /// those describe the message end to end, and dropping one would let the next hop frame the
    /// body (and so find the next message) differently from the gateway: request smuggling,
    /// found by `Fuzz/FuzzRequestHead`.
    private static func markConnectionNamed(_ raw: UnsafeRawBufferPointer, _ fields: inout [HeaderField]) -> HeadParseError? {
        let connectionValues = fields.filter { $0.kind == .connection }.map(\.value)
        guard !connectionValues.isEmpty else { return nil }
        var refusal: HeadParseError?
        for value in connectionValues {
            forEachToken(raw, value) { token in
                for index in fields.indices where fields[index].name.count == token.count {
                    let name = fields[index].name
                    let same = (0..<token.count).allSatisfy {
                        HeaderNames.lower(raw[name.lowerBound + $0]) == HeaderNames.lower(raw[token.lowerBound + $0])
                    }
                    guard same else { continue }
                    switch fields[index].kind {
                    case .host, .contentLength, .transferEncoding:
                        refusal = HeadParseError(reason: "the Connection header names a header that is not hop-by-hop")
                    default:
                        fields[index].namedByConnection = true
                    }
                }
            }
        }
        return refusal
    }
}
