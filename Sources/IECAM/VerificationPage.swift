public import HTTPServer
public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import Store

/// The device-flow verification page (RFC 8628 §3.3): the user signs in with
/// the code shown on the device, sees which client asks, and approves or denies.
///
/// Plain HTML forms, no script, served with a strict Content-Security-Policy.
/// CSRF: a double-submit token (cookie and hidden field); the consent step
/// carries a short-lived HS256 state signed with the realm's verification secret,
/// so any instance sharing the store can finish what another one started.
extension AMServer {
    static let csrfCookie = "iec_csrf"

    func addVerificationRoutes(to router: inout Router) {
        let path = "/oauth2/realms/root/realms/{realm}/device/user"
        router.add("GET", path) { [self] request in try verificationForm(request, message: nil, userCode: request.query["user_code"] ?? "") }
        router.add("POST", path) { [self] request in try verificationSubmit(request) }
    }

    private func pageHeaders() -> [(String, String)] {
        [
            ("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
            ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ]
    }

    private func htmlPage(_ title: String, _ body: String, status: Int = 200, extraHeaders: [(String, String)] = []) -> HTTPServerResponse {
        let html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(htmlEscape(title))</title></head>
            <body><main><h1>\(htmlEscape(title))</h1>
            \(body)
            </main></body></html>
            """
        var response = HTTPServerResponse.html(html, status: status)
        response.headers += pageHeaders() + extraHeaders
        return response
    }

    private func csrfToken(_ request: HTTPServerRequest) -> (token: String, header: (String, String)?) {
        if let existing = request.cookies[Self.csrfCookie], existing.utf8.count == 43 { return (existing, nil) }
        let token = Base64.urlEncode(random.bytes(32))
        var cookie = "\(Self.csrfCookie)=\(token); Path=/oauth2; HttpOnly; SameSite=Strict"
        if request.isSecure { cookie += "; Secure" }
        return (token, ("Set-Cookie", cookie))
    }

    func verificationForm(_ request: HTTPServerRequest, message: String?, userCode: String, status: Int = 200) throws -> HTTPServerResponse {
        let realm = try requireRealmPage(request)
        let csrf = csrfToken(request)
        let notice = message.map { "<p role=\"alert\"><strong>\(htmlEscape($0))</strong></p>" } ?? ""
        let body = """
            \(notice)
            <p>Enter the code shown on your device, then sign in to the realm \(htmlEscape(realm)).</p>
            <form method="post">
            <input type="hidden" name="csrf" value="\(csrf.token)">
            <input type="hidden" name="step" value="sign_in">
            <p><label for="user_code">Code</label><br><input id="user_code" name="user_code" value="\(htmlEscape(String(userCode.prefix(16))))" autocomplete="off" required></p>
            <p><label for="username">User name</label><br><input id="username" name="username" autocomplete="username" required></p>
            <p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
            <p><button type="submit">Continue</button></p>
            </form>
            """
        return htmlPage("Connect a device", body, status: status, extraHeaders: csrf.header.map { [$0] } ?? [])
    }

    private func requireRealmPage(_ request: HTTPServerRequest) throws -> String {
        let realm = request.pathParameters["realm"] ?? ""
        guard realm != "root", try store.realm(named: realm) != nil else { throw HTTPError(status: 404, message: "no such realm") }
        return realm
    }

    func verificationSubmit(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let realm = try requireRealmPage(request)
        guard let form = request.formParameterValues() else { throw HTTPError(status: 415, message: "send the form as application/x-www-form-urlencoded") }
        func field(_ name: String) -> String { form[name]?.first ?? "" }
        guard let cookie = request.cookies[Self.csrfCookie], ConstantTime.equals(cookie, field("csrf")) else {
            return htmlPage("Request refused", "<p role=\"alert\">The form expired or did not come from this site. <a href=\"\">Start again</a>.</p>", status: 403)
        }
        let address = request.remoteAddress
        let window = configuration.userCodeAttemptWindow
        if try limiter.isLimited("user-code:\(address)", limit: configuration.userCodeAttemptLimit, window: window) {
            return htmlPage(
                "Too many attempts", "<p role=\"alert\">Too many wrong codes or sign-ins. Try again in \(limiter.retryAfter(window: window)) seconds.</p>",
                status: 429, extraHeaders: [("Retry-After", String(limiter.retryAfter(window: window)))])
        }
        switch field("step") {
        case "sign_in": return try verificationSignIn(request, realm: realm, field: field)
        case "decide": return try verificationDecide(request, realm: realm, field: field)
        default: throw HTTPError(status: 400, message: "unknown step")
        }
    }

    private func verificationSignIn(_ request: HTTPServerRequest, realm: String, field: (String) -> String) throws -> HTTPServerResponse {
        let address = request.remoteAddress
        let username = field("username")
        let userCode = field("user_code")
        guard !username.isEmpty, username.utf8.count <= 128 else {
            return try verificationForm(request, message: "Enter your user name and password.", userCode: userCode, status: 400)
        }
        try checkLoginLimits(realm: realm, username: username, address: address)
        guard let user = try store.user(realm: realm, username: username), !user.disabled,
            PasswordHash.verify(field("password"), against: user.passwordHash)
        else {
            try recordLoginFailure(realm: realm, username: username, address: address)
            try limiter.recordFailure("user-code:\(address)", window: configuration.userCodeAttemptWindow)
            return try verificationForm(request, message: "The user name or password is wrong.", userCode: userCode, status: 401)
        }
        guard let (code, client) = try provider.pendingDeviceCode(realm: realm, userCode: userCode) else {
            try limiter.recordFailure("user-code:\(address)", window: configuration.userCodeAttemptWindow)
            audit(realm: realm, actor: username, action: "device.verify", target: "-", outcome: "failure", details: ["reason": "unknown code"])
            return try verificationForm(request, message: "That code is not valid, or it has expired. Check the code on your device.", userCode: userCode, status: 400)
        }
        let state = try signState(realm: realm, claims: [
            "sub": .string(user.username), "user_code": .string(code.userCode), "csrf": .string(field("csrf")),
            "exp": .int(Int64(min(clock.now + 300, code.expiresAt))),
        ])
        let scopes = code.scope.split(separator: " ").map { "<li>\(htmlEscape(String($0)))</li>" }.joined()
        let body = """
            <p>Signed in as <strong>\(htmlEscape(user.username))</strong>.</p>
            <p>The device or application <strong>\(htmlEscape(client.name.isEmpty ? client.clientID : client.name))</strong>
            (client id <code>\(htmlEscape(client.clientID))</code>) asks to act on your behalf with code
            <strong>\(htmlEscape(UserCode.display(code.userCode)))</strong>.</p>
            <p>It asks for:</p><ul>\(scopes.isEmpty ? "<li>no particular scope</li>" : scopes)</ul>
            <form method="post">
            <input type="hidden" name="csrf" value="\(htmlEscape(field("csrf")))">
            <input type="hidden" name="step" value="decide">
            <input type="hidden" name="state" value="\(htmlEscape(state))">
            <p><button type="submit" name="decision" value="approve">Approve</button>
            <button type="submit" name="decision" value="deny">Deny</button></p>
            </form>
            """
        return htmlPage("Approve this device?", body)
    }

    private func verificationDecide(_ request: HTTPServerRequest, realm: String, field: (String) -> String) throws -> HTTPServerResponse {
        guard let claims = verifyState(realm: realm, token: field("state")), let subject = claims.subject,
            let userCode = claims["user_code"]?.stringValue, claims["csrf"]?.stringValue == field("csrf")
        else { return try verificationForm(request, message: "The page expired. Please sign in again.", userCode: "", status: 400) }
        let decision = field("decision")
        guard decision == "approve" || decision == "deny" else { throw HTTPError(status: 400, message: "decision must be approve or deny") }
        let approve = decision == "approve"
        guard try provider.decideDeviceCode(realm: realm, userCode: userCode, subject: subject, approve: approve) else {
            return try verificationForm(request, message: "That code is no longer waiting for approval.", userCode: "", status: 409)
        }
        audit(realm: realm, actor: subject, action: approve ? "device.approve" : "device.deny", target: UserCode.display(userCode), outcome: "success")
        return approve
            ? htmlPage("Device approved", "<p>The device is now connected. You can return to it.</p>")
            : htmlPage("Request denied", "<p>The device was not connected.</p>")
    }

    private func verificationKey(realm: String) throws -> [UInt8] {
        guard let secret = try store.realm(named: realm)?.settings["verification_secret"]?.stringValue, let key = Base64.urlDecode(secret) else {
            throw HTTPError(status: 500, message: "the realm has no verification secret; run iec-am setup")
        }
        return key
    }

    private func signState(realm: String, claims: [String: JSONValue]) throws -> String {
        try JWS.sign(claims: JWTClaims(claims), key: .hs256(try verificationKey(realm: realm), keyID: nil), type: "iec-consent")
    }

    private func verifyState(realm: String, token: String) -> JWTClaims? {
        guard let key = try? verificationKey(realm: realm), let verified = try? JWS.verify(token, keys: .hs256(key), maxBytes: 4096),
            verified.header["typ"]?.stringValue == "iec-consent", let claims = try? verified.claims(),
            (try? JWTValidationPolicy(leeway: 0).validate(claims, now: clock.now)) != nil
        else { return nil }
        return claims
    }
}
