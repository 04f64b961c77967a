/// The routes of one config, indexed for matching a request (SPEC §2, "Routing").
///
/// A route matches when its path rule, `host` and `methods` all match; the first such route in
/// file order wins. When none matches but some route's path and host do, the answer is 405 with
/// the union of those routes' methods; otherwise 404.
///
/// Built once per config load and then shared, immutable, by every event loop. Matching never
/// scans the whole table: `init` files every route under the path keys it can match
/// (its exact path, or its prefix) and, within a key, under its host, so a request looks up one
/// key per segment boundary of its path and only checks methods on the candidates it finds. The
/// candidates carry their file-order index, and the smallest index that matches wins, which keeps
/// first-match-in-file-order exact whatever the table size.
public struct RouteTable: Sendable {
    /// Every route, in file order; `Match.route(index:)` indexes into this.
    public let routes: [RouteSettings]

    public enum Match: Sendable, Equatable {
        /// `routes[index]` handles the request.
        case route(index: Int)
        /// Some route's path and host match but none of them allows the method; `allow` is the
        /// value of the `Allow` header (`GET, POST`).
        case methodNotAllowed(allow: String)
        case notFound
    }

    /// Uppercased methods per route, `nil` for every method.
    private let methods: [[String]?]
    /// `path:` rules by their path.
    private let exactRoutes: [RoutePathKey: RouteCandidates]
    /// `path_prefix:` rules by their prefix, as written (`/api` and `/api/` are different keys).
    private let prefixRoutes: [RoutePathKey: RouteCandidates]
    /// `prefixKeyLengths[n]` is true when some prefix is `n` UTF-8 bytes long: most segment
    /// boundaries of a request path can then be skipped without a lookup.
    private let prefixKeyLengths: [Bool]

    public init(routes: [RouteSettings]) {
        self.routes = routes
        self.methods = routes.map(\.methods)
        var exact: [RoutePathKey: RouteCandidates] = [:]
        var prefix: [RoutePathKey: RouteCandidates] = [:]
        var lengths: [Bool] = []
        for (index, route) in routes.enumerated() {
            var host: RouteHost?
            if let configured = route.host {
                // A host that reads as nothing (`""`, `:80`) can equal no request: never filed.
                guard let parsed = RouteHost(configured: configured) else { continue }
                host = parsed
            }
            switch route.path {
            case .exact(let path):
                exact[RoutePathKey(path[...]), default: RouteCandidates()].add(index, host: host)
            case .prefix(let path):
                prefix[RoutePathKey(path[...]), default: RouteCandidates()].add(index, host: host)
                let length = path.utf8.count
                if lengths.count <= length { lengths += repeatElement(false, count: length + 1 - lengths.count) }
                lengths[length] = true
            }
        }
        self.exactRoutes = exact
        self.prefixRoutes = prefix
        self.prefixKeyLengths = lengths
    }

    /// Finds the route for a request.
    ///
    /// - Parameters:
    ///   - path: the normalized path (`PathNormalizer.normalize`).
    ///   - host: the raw `Host` header value, nil when absent; compared case-insensitively
    ///     without its port, so a request without one matches only routes without `host:`.
    ///   - method: the method as sent; methods are case-sensitive tokens.
    public func match(path: String, host: Substring?, method: Substring) -> Match {
        let requestHost = host.flatMap(RouteHost.init(headerValue:))

        var best = Int.max
        forEachCandidateList(path: path, host: requestHost) { candidates in
            // Each list is in file order, so only its first method match can beat `best`.
            for index in candidates {
                if index >= best { break }
                if allows(route: index, method: method) {
                    best = index
                    break
                }
            }
        }
        if best != Int.max { return .route(index: best) }

        var pathAndHostMatches: [Int] = []
        forEachCandidateList(path: path, host: requestHost) { pathAndHostMatches += $0 }
        guard !pathAndHostMatches.isEmpty else { return .notFound }
        return .methodNotAllowed(allow: allowValue(routeIndices: pathAndHostMatches.sorted()))
    }

    /// The path sent upstream for a request matched to `route`.
    ///
    /// `strip_prefix` is removed only on a segment boundary (`/api` strips `/api/x` to `/x` and
    /// `/api` to `/`, but leaves `/apis` alone), then `basePath` — the upstream URL's path, without
    /// a trailing `/`, "" for none — is prepended. The query string is not part of either side.
    public static func upstreamPath(for route: RouteSettings, normalizedPath: String, basePath: String) -> String {
        var rest = normalizedPath.utf8[...]
        if var strip = route.stripPrefix?.utf8[...] {
            if strip.last == UInt8(ascii: "/") { strip = strip.dropLast() }
            if !strip.isEmpty, rest.starts(with: strip) {
                let remainder = rest.dropFirst(strip.count)
                if remainder.isEmpty {
                    rest = "/".utf8[...]
                } else if remainder.first == UInt8(ascii: "/") {
                    rest = remainder
                }
            }
        }
        return basePath + Substring(rest)
    }

    /// Calls `body` with every candidate list whose routes match `path` and `host`: the exact
    /// routes of the path, and the prefix routes of each prefix the path has on a segment boundary.
    private func forEachCandidateList(path: String, host: RouteHost?, _ body: ([Int]) -> Void) {
        let bytes = path.utf8
        var index = bytes.startIndex
        var offset = 0
        // RouteKeyHash of the bytes before `index`.
        var hash = RouteKeyHash.seed
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "/") {
                // `/api` (not ending in `/`) matches `/api/...`: the key is the part before this `/`.
                if offset > 0, hasPrefixKey(length: offset) {
                    prefixRoutes[RoutePathKey(path[..<index], bytesHash: hash)]?.forEachList(host: host, body)
                }
                // `/api/` matches everything starting with it, `/` matches everything.
                if hasPrefixKey(length: offset + 1) {
                    let key = RoutePathKey(path[...index], bytesHash: RouteKeyHash.adding(byte, to: hash))
                    prefixRoutes[key]?.forEachList(host: host, body)
                }
            }
            hash = RouteKeyHash.adding(byte, to: hash)
            bytes.formIndex(after: &index)
            offset += 1
        }
        let wholePath = RoutePathKey(path[...], bytesHash: hash)
        exactRoutes[wholePath]?.forEachList(host: host, body)
        // `/api` also matches `/api` itself (a path ending in `/` was covered at its last `/`).
        if bytes.last != UInt8(ascii: "/"), hasPrefixKey(length: offset) {
            prefixRoutes[wholePath]?.forEachList(host: host, body)
        }
    }

    @inline(__always)
    private func hasPrefixKey(length: Int) -> Bool {
        length < prefixKeyLengths.count && prefixKeyLengths[length]
    }

    @inline(__always)
    private func allows(route index: Int, method: Substring) -> Bool {
        guard let allowed = methods[index] else { return true }
        return allowed.contains { $0.utf8.elementsEqual(method.utf8) }
    }

    /// The union of the routes' methods in first-seen order, as an `Allow` header value.
    private func allowValue(routeIndices: [Int]) -> String {
        var seen: [String] = []
        for index in routeIndices {
            for method in methods[index] ?? [] where !seen.contains(method) {
                seen.append(method)
            }
        }
        return seen.joined(separator: ", ")
    }
}
