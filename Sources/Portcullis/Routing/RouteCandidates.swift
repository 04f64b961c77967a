/// The routes filed under one path key of a `RouteTable`, split by host so that a lookup
/// yields only routes whose path and host both match.
///
/// Every list holds route indices in ascending (file) order, because the table adds routes in
/// file order; `RouteTable.match` relies on that to stop at the first method match of a list.
struct RouteCandidates: Sendable {
    /// Routes without `host:`.
    private(set) var anyHost: [Int] = []
    /// Routes with `host:`, by host.
    private(set) var byHost: [RouteHost: [Int]] = [:]

    mutating func add(_ index: Int, host: RouteHost?) {
        if let host {
            byHost[host, default: []].append(index)
        } else {
            anyHost.append(index)
        }
    }

    /// Calls `body` with the non-empty lists that apply to a request for `host` (nil: no `Host`).
    @inline(__always)
    func forEachList(host: RouteHost?, _ body: ([Int]) -> Void) {
        if !anyHost.isEmpty { body(anyHost) }
        if let host, !byHost.isEmpty, let hosted = byHost[host] { body(hosted) }
    }
}
