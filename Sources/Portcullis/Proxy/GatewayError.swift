import NIOCore

/// An error the gateway answers itself (SPEC section 3): status, `error` code, a human
/// message, and the headers the status needs. Rendered in one place, so every refusal has
/// the JSON body, `Content-Type` and `X-Request-Id`.
package struct GatewayError: Error, Sendable, Equatable {
    var status: Int
    var code: String
    var message: String
    /// `WWW-Authenticate` value (401/403).
    var challenge: String?
    /// `Allow` value (405).
    var allow: String?

    init(status: Int, code: String, message: String, challenge: String? = nil, allow: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.challenge = challenge
        self.allow = allow
    }

    static func badRequest(_ message: String) -> GatewayError {
        GatewayError(status: 400, code: "bad_request", message: message)
    }

    static let notFound = GatewayError(status: 404, code: "not_found", message: "No route matches this request.")
    static let headersTooLarge = GatewayError(
        status: 431, code: "headers_too_large", message: "The request head is larger than the gateway accepts."
    )
    static let requestTimeout = GatewayError(
        status: 408, code: "request_timeout", message: "The request head did not arrive in time."
    )
    static let payloadTooLarge = GatewayError(
        status: 413, code: "payload_too_large", message: "The request body is larger than the gateway accepts."
    )
    static let badGateway = GatewayError(status: 502, code: "bad_gateway", message: "The upstream service could not be reached.")
    static let gatewayTimeout = GatewayError(
        status: 504, code: "gateway_timeout", message: "The upstream service did not answer in time."
    )

    static let notSupported = GatewayError(
        status: 501, code: "not_supported", message: "The blocklist plugin cannot revoke subjects."
    )
    static let revocationUnavailable = GatewayError(
        status: 503, code: "revocation_unavailable", message: "The revocation list could not be consulted."
    )
    static let tokenRevoked = GatewayError(AuthFailure(.tokenRevoked, "The token has been revoked."), tokenPresented: true)

    static func methodNotAllowed(allow: String) -> GatewayError {
        GatewayError(
            status: 405, code: "method_not_allowed", message: "This method is not allowed on this route.", allow: allow
        )
    }

    /// Maps a failed token check to its status and RFC 6750 challenge.
    init(_ failure: AuthFailure, tokenPresented: Bool) {
        let description = failure.message.replacingQuotes()
        switch failure.code {
        case .insufficientScope:
            self.init(
                status: 403, code: failure.code.rawValue, message: failure.message,
                challenge: #"Bearer realm="portcullis", error="insufficient_scope", error_description="\#(description)""#
            )
        case .keysUnavailable:
            self.init(status: 503, code: failure.code.rawValue, message: failure.message)
        default:
            let challenge =
                tokenPresented
                ? #"Bearer realm="portcullis", error="invalid_token", error_description="\#(description)""#
                : #"Bearer realm="portcullis""#
            self.init(status: 401, code: failure.code.rawValue, message: failure.message, challenge: challenge)
        }
    }

    /// The complete response, head and body.
    func render(requestID: String, close: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        var body = #"{"error":"#
        JSONValue.writeString(code, to: &body)
        body += #","message":"#
        JSONValue.writeString(message, to: &body)
        body += "}"
        var headers: [(String, String)] = []
        if let challenge { headers.append(("WWW-Authenticate", challenge)) }
        if let allow { headers.append(("Allow", allow)) }
        return JSONResponse.render(
            status: status, body: body, requestID: requestID, close: close, headers: headers, allocator: allocator
        )
    }
}

/// A complete JSON response the gateway writes itself: errors and `/logout`'s answer.
enum JSONResponse {
    static func render(
        status: Int, body: String, requestID: String, close: Bool, headers: [(String, String)] = [],
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + body.utf8.count)
        buffer.writeString("HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\n")
        buffer.writeString("Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n")
        buffer.writeString("X-Request-Id: \(requestID)\r\n")
        for (name, value) in headers { buffer.writeString("\(name): \(value)\r\n") }
        if close { buffer.writeString("Connection: close\r\n") }
        buffer.writeString("\r\n")
        buffer.writeString(body)
        return buffer
    }
}

enum HTTPStatus {
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 413: return "Content Too Large"
        case 431: return "Request Header Fields Too Large"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Error"
        }
    }
}

extension String {
    /// Safe inside a quoted header parameter.
    fileprivate func replacingQuotes() -> String {
        String(unicodeScalars.map { $0 == "\"" || $0 == "\\" || $0.value < 0x20 ? "'" : Character($0) })
    }
}
