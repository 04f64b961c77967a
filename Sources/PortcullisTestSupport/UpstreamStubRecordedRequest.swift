/// One request as the `UpstreamStub` received it: what the gateway forwarded.
///
/// The body is not kept, only its length and FNV-1a 64 checksum, so multi-megabyte uploads can be
/// checked without holding them in memory.
public struct RecordedRequest: Sendable {
    public var method: String
    /// The request target as received (path and query).
    public var uri: String
    /// Header fields in the order received, names as spelled on the wire.
    public var headers: [(String, String)]
    public var bodyBytes: Int
    /// `fnv1a64` of the body bytes (`FNV1a64.offsetBasis` for an empty body).
    public var bodyChecksum: UInt64

    public init(method: String, uri: String, headers: [(String, String)], bodyBytes: Int, bodyChecksum: UInt64) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.bodyBytes = bodyBytes
        self.bodyChecksum = bodyChecksum
    }

    /// The value of the first header named `name` (case-insensitive), nil when absent.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The values of every header named `name` (case-insensitive), in order.
    public func headers(named name: String) -> [String] {
        let wanted = name.lowercased()
        return headers.filter { $0.0.lowercased() == wanted }.map(\.1)
    }
}
