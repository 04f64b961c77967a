#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Small lexical checks shared by the config sections: HTTP tokens, host names, `host:port`.
enum ConfigSyntax {
    /// An RFC 9110 `token` (header names, method names, cookie names).
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }
    }

    /// A DNS name or IPv4 address: letters, digits, `.`, `-`, `_`.
    static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
                return true
            default:
                return false
            }
        }
    }

    static func isIPv6Address(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    enum HostPortFailure: Error {
        case malformed
        case unbracketedIPv6
        case badPort
    }

    /// Splits `host:port`, `[v6]:port`, or (when `portRequired` is false) a bare host.
    /// The host comes back without brackets; `port` is nil when absent.
    static func splitHostPort(_ text: Substring, portRequired: Bool) -> Result<(host: String, port: Int?), HostPortFailure> {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return .failure(.malformed) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard isIPv6Address(String(host)) else { return .failure(.malformed) }
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return .failure(.malformed) }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { return .failure(.unbracketedIPv6) }
        } else {
            host = text
        }
        guard !host.isEmpty, host.contains(":") || isHostName(String(host)) else { return .failure(.malformed) }
        guard let portText else { return portRequired ? .failure(.malformed) : .success((String(host), nil)) }
        guard !portText.isEmpty, portText.count <= 5,
            portText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let port = Int(portText), port <= 65535
        else { return .failure(.badPort) }
        return .success((String(host), port))
    }
}
