import NIOHTTP1

/// One answer of the admin listener: a status and a JSON body, plus the headers the status
/// needs. Errors have the same `{"error": CODE, "message": SENTENCE}` shape as the gateway's
/// own (SPEC section 3).
struct AdminResponse: Sendable, Equatable {
    var status: Int
    /// Compact JSON text.
    var body: String
    /// `WWW-Authenticate` value (401).
    var challenge: String?
    /// `Allow` value (405).
    var allow: String?
    var contentType = "application/json"

    init(status: Int, body: String, challenge: String? = nil, allow: String? = nil) {
        self.status = status
        self.body = body
        self.challenge = challenge
        self.allow = allow
    }

    /// The Prometheus text exposition format, version 0.0.4.
    static func metrics(_ text: String) -> AdminResponse {
        var response = AdminResponse(status: 200, body: text)
        response.contentType = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }

    /// An error answer with a machine-readable `code` and a human `message`.
    static func error(_ status: Int, _ code: String, _ message: String, challenge: String? = nil, allow: String? = nil)
        -> AdminResponse
    {
        var body = #"{"error":"#
        JSONValue.writeString(code, to: &body)
        body += #","message":"#
        JSONValue.writeString(message, to: &body)
        body += "}"
        return AdminResponse(status: status, body: body, challenge: challenge, allow: allow)
    }

    static func badRequest(_ message: String) -> AdminResponse {
        .error(400, "bad_request", message)
    }

    static let notFound = AdminResponse.error(404, "not_found", "No admin endpoint matches this request.")
    static let unauthorized = AdminResponse.error(
        401, "unauthorized", "A valid admin token is required.", challenge: #"Bearer realm="portcullis-admin""#
    )
    static let payloadTooLarge = AdminResponse.error(
        413, "payload_too_large", "The request body is larger than the admin listener accepts."
    )
    static let revocationUnavailable = AdminResponse.error(
        503, "revocation_unavailable", "The revocation list could not be consulted."
    )

    static func methodNotAllowed(allow: String) -> AdminResponse {
        .error(405, "method_not_allowed", "This method is not allowed on this endpoint.", allow: allow)
    }

    /// The response head: content type, exact length, and the status's own headers.
    func head(version: NIOHTTP1.HTTPVersion, keepAlive: Bool, requestID: String?) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if let requestID { headers.add(name: "X-Request-Id", value: requestID) }
        if let challenge { headers.add(name: "WWW-Authenticate", value: challenge) }
        if let allow { headers.add(name: "Allow", value: allow) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: headers)
    }
}
