import Logging
import NIOCore

/// Builds the heads that leave the gateway by splicing bytes of the received head: the
/// request sent upstream and the response sent to the client. No `HTTPHeaders`, no
/// per-header Strings.
package enum HeadRewriter {
    /// The request head for the upstream (SPEC section 3, "Forwarded requests").
    package static func upstreamRequest(
        _ head: RequestHead, plan: ForwardPlan, route: CompiledRoute, runtime: GatewayRuntime,
        requestID: String, clientAddress: String, scheme: String, logger: Logger,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var out = allocator.buffer(capacity: head.bytes.readableBytes + 256)
        out.writeBytes(head.view(head.method))
        out.writeStaticString(" ")
        out.writeString(plan.upstreamPath)
        out.writeBytes(head.view(head.query))
        out.writeStaticString(" HTTP/1.1\r\n")

        let removeAuthorization = !route.settings.forwardToken && plan.credentialSource != nil
        var forwardedFor: [Range<Int>] = []
        var hostValue: Range<Int>?
        for field in head.fields {
            if field.kind.isHopByHop || field.namedByConnection { continue }
            switch field.kind {
            case .expect, .xForwardedProto, .xForwardedHost, .xRequestID, .transferEncoding:
                continue
            case .xForwardedFor:
                forwardedFor.append(field.value)
                continue
            case .host:
                hostValue = field.value
            case .cookie:
                if removeAuthorization, case .cookie(let name) = plan.credentialSource {
                    let kept = removingCookie(named: name, from: head.string(field.value))
                    if !kept.isEmpty {
                        out.writeStaticString("Cookie: ")
                        out.writeString(kept)
                        out.writeStaticString("\r\n")
                    }
                    continue
                }
            case .other, .authorization:
                if isClaimHeader(head, field.name, runtime.claimHeaderNames) { continue }
                if removeAuthorization, case .header(let name) = plan.credentialSource,
                    HeaderNames.equalsLowercased(head.bytes, field.name, name)
                {
                    continue
                }
            default:
                break
            }
            // name ": " value CRLF, normalised to one space after the colon.
            out.writeBytes(head.view(field.name))
            out.writeStaticString(": ")
            out.writeBytes(head.view(field.value))
            out.writeStaticString("\r\n")
        }
        if head.framing == .chunked { out.writeStaticString("Transfer-Encoding: chunked\r\n") }
        if head.wantsWebSocket { out.writeStaticString("Upgrade: websocket\r\nConnection: Upgrade\r\n") }
        if hostValue == nil {
            let upstream = runtime.upstreams[route.upstreamIndex].settings
            out.writeString("Host: \(upstream.host):\(upstream.port)\r\n")
        }
        out.writeStaticString("X-Forwarded-For: ")
        for range in forwardedFor {
            out.writeBytes(head.view(range))
            out.writeStaticString(", ")
        }
        out.writeString(clientAddress)
        out.writeStaticString("\r\nX-Forwarded-Proto: ")
        out.writeString(scheme)
        if let hostValue {
            out.writeStaticString("\r\nX-Forwarded-Host: ")
            out.writeBytes(head.view(hostValue))
        }
        out.writeStaticString("\r\nX-Request-Id: ")
        out.writeString(requestID)
        out.writeStaticString("\r\n")
        if let token = plan.token {
            for forward in route.settings.forwardClaims {
                guard let claim = token.claims[forward.claim] else { continue }
                let value = claim.stringValue ?? claim.compactText
                guard value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                    logger.warning(
                        "claim value is not a valid header value; not forwarded",
                        metadata: ["portcullis.claim": "\(forward.claim)", "portcullis.header": "\(forward.header)"]
                    )
                    continue
                }
                out.writeString(forward.header)
                out.writeStaticString(": ")
                out.writeString(value)
                out.writeStaticString("\r\n")
            }
        }
        out.writeStaticString("\r\n")
        return out
    }

    /// The response head for the client: the upstream's status line and headers without
    /// hop-by-hop fields, plus `X-Request-Id` and the gateway's own connection handling.
    package static func clientResponse(
        _ head: ResponseHead, requestID: String, closeConnection: Bool, clientIsHTTP10: Bool,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var out = allocator.buffer(capacity: head.bytes.readableBytes + 96)
        out.writeBytes(head.bytes.viewBytes(at: head.statusLine.lowerBound, length: head.statusLine.count)!)  // in bounds by construction
        out.writeStaticString("\r\n")
        for field in head.fields {
            if field.kind.isHopByHop || field.namedByConnection || field.kind == .xRequestID { continue }
            out.writeBytes(head.bytes.viewBytes(at: field.name.lowerBound, length: field.name.count)!)  // in bounds
            out.writeStaticString(": ")
            out.writeBytes(head.bytes.viewBytes(at: field.value.lowerBound, length: field.value.count)!)  // in bounds
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("X-Request-Id: ")
        out.writeString(requestID)
        if closeConnection {
            out.writeStaticString("\r\nConnection: close")
        } else if clientIsHTTP10 {
            out.writeStaticString("\r\nConnection: keep-alive")
        }
        out.writeStaticString("\r\n\r\n")
        return out
    }

    /// The upstream's `101 Switching Protocols` for the client: like `clientResponse`, but the
    /// upstream's `Upgrade` is kept and `Connection: Upgrade` is written, as the handshake needs.
    static func clientSwitchingProtocols(_ head: ResponseHead, requestID: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: head.bytes.readableBytes + 64)
        out.writeBytes(head.bytes.viewBytes(at: head.statusLine.lowerBound, length: head.statusLine.count)!)  // in bounds by construction
        out.writeStaticString("\r\n")
        for field in head.fields {
            if field.kind != .upgrade, field.kind.isHopByHop || field.namedByConnection || field.kind == .xRequestID { continue }
            out.writeBytes(head.bytes.viewBytes(at: field.name.lowerBound, length: field.name.count)!)  // in bounds
            out.writeStaticString(": ")
            out.writeBytes(head.bytes.viewBytes(at: field.value.lowerBound, length: field.value.count)!)  // in bounds
            out.writeStaticString("\r\n")
        }
        out.writeStaticString("X-Request-Id: ")
        out.writeString(requestID)
        out.writeStaticString("\r\nConnection: Upgrade\r\n\r\n")
        return out
    }

    private static func isClaimHeader(_ head: RequestHead, _ name: Range<Int>, _ names: [[UInt8]]) -> Bool {
        for candidate in names where HeaderNames.equalsLowercased(head.bytes, name, candidate) { return true }
        return false
    }

    /// `a=1; token=x; b=2` without `token` -> `a=1; b=2`.
    static func removingCookie(named name: String, from header: String) -> String {
        header.split(separator: ";")
            .map { $0.trimmingSpaces() }
            .filter { pair in
                guard let equals = pair.firstIndex(of: "=") else { return true }
                return pair[..<equals].trimmingSpaces() != name
            }
            .joined(separator: "; ")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " || result.first == "\t" { result.removeFirst() }
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }
}
