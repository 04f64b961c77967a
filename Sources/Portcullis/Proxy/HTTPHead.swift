import NIOCore

/// Headers the proxy has to recognise, classified once while the head is parsed so the
/// request path never compares a header name twice.
enum HeaderKind: UInt8, Sendable {
    case other
    case host
    case contentLength
    case transferEncoding
    case connection
    case keepAlive
    case te
    case trailer
    case upgrade
    /// `Proxy-*` (Proxy-Connection, Proxy-Authorization, ...): hop-by-hop.
    case proxy
    case expect
    case xForwardedFor
    case xForwardedProto
    case xForwardedHost
    case xRequestID
    case authorization
    case cookie
    /// `Content_Length` or `Transfer_Encoding`: no framing header here, but one to a server
    /// that maps `_` to `-` (CGI-style environments), which would then frame the body otherwise.
    case framingLookalike

    /// Removed in both directions (RFC 9110 section 7.6.1, plus `Proxy-*`). `Upgrade` is
    /// hop-by-hop too; a WebSocket handshake and its 101 get theirs written explicitly.
    var isHopByHop: Bool {
        switch self {
        case .connection, .keepAlive, .te, .trailer, .upgrade, .proxy: return true
        default: return false
        }
    }
}

/// One header line of a parsed head: byte ranges into the head's buffer (value without OWS).
struct HeaderField: Sendable {
    var name: Range<Int>
    var value: Range<Int>
    var kind: HeaderKind
    /// Named in a `Connection` header: hop-by-hop for this message.
    var namedByConnection = false
}

/// How the body of a message is delimited.
package enum BodyFraming: Equatable, Sendable {
    case none
    case contentLength(Int)
    case chunked
    /// Response only: the body runs until the upstream closes the connection.
    case untilClose
}

enum HTTPVersion: Equatable, Sendable {
    case http10
    case http11
}

/// A request head as received: the raw bytes and where each part is.
package struct RequestHead: Sendable {
    /// The head bytes, from the method to the final CRLFCRLF inclusive; readerIndex 0.
    var bytes: ByteBuffer
    var method: Range<Int>
    /// Path part of the origin-form target (before `?`).
    var path: Range<Int>
    /// Query including the leading `?`, or an empty range.
    var query: Range<Int>
    var version: HTTPVersion
    var fields: [HeaderField]
    package var framing: BodyFraming
    /// Client wants the connection kept open after this exchange.
    var keepAlive: Bool
    var expectsContinue: Bool
    /// A WebSocket handshake the gateway tunnels once authorized: `GET`, HTTP/1.1,
    /// `Upgrade: websocket` and `upgrade` among the `Connection` tokens, no body. Anything
    /// else carrying `Upgrade` (h2c, a handshake with a body) is an ordinary request.
    var wantsWebSocket: Bool

    func string(_ range: Range<Int>) -> String {
        bytes.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    func view(_ range: Range<Int>) -> ByteBufferView {
        bytes.viewBytes(at: range.lowerBound, length: range.count) ?? ByteBufferView()
    }

    /// The path as routes see it (`PathNormalizer`); `nil` when it must be refused with 400.
    package var normalizedPath: String? {
        PathNormalizer.normalize(view(path))
    }

    var isHead: Bool {
        method.count == 4 && bytes.getString(at: method.lowerBound, length: 4) == "HEAD"
    }

    /// The first field of `kind`.
    func field(_ kind: HeaderKind) -> HeaderField? {
        fields.first { $0.kind == kind }
    }

    /// The first field whose name equals `lowercasedName` (ASCII case-insensitive).
    func field(named lowercasedName: [UInt8]) -> HeaderField? {
        fields.first { HeaderNames.equalsLowercased(bytes, $0.name, lowercasedName) }
    }
}

/// A response head from an upstream.
package struct ResponseHead: Sendable {
    var bytes: ByteBuffer
    package var status: Int
    /// `HTTP/1.1 200 OK` line without CRLF.
    var statusLine: Range<Int>
    var version: HTTPVersion
    var fields: [HeaderField]
    package var framing: BodyFraming
    /// Upstream will keep the connection open after this response.
    var keepAlive: Bool
}
