public import HTTPServer
public import IECRealm
public import Scripting
public import IECCrypto
public import IECJSON
public import IECLog
public import JOSE
public import OAuth2
public import Store

/// iec-am: the identity server, composed of its parts. Built once at start;
/// `router` holds every route; `HTTPServer` runs it.
public final class AMServer: Sendable {
    public let configuration: AMConfiguration
    public let store: any Store
    public let provider: OAuth2Provider
    public let sessions: SessionManager
    public let registry: NodeRegistry
    public let chains: AuthenticationChains
    public let commands: CommandEndpoint
    public let scriptEngine: ScriptEngine
    public let limiter: RateLimiter
    public let clock: any WallClock
    public let random: any RandomSource
    public let logger: Logger

    public init(configuration: AMConfiguration, store: any Store, logger: Logger, clock: any WallClock = SystemClock(),
                random: any RandomSource = SystemRandom()) {
        self.configuration = configuration
        self.store = store
        self.clock = clock
        self.random = random
        self.logger = logger
        provider = OAuth2Provider(store: store, publicURL: configuration.effectivePublicURL, clock: clock, random: random)
        sessions = SessionManager(store: store, clock: clock, random: random)
        limiter = RateLimiter(store: store, clock: clock)
        registry = NodeRegistry(store: store, clock: clock)
        scriptEngine = ScriptEngine()
        chains = AuthenticationChains(store: store, provider: provider, sessions: sessions, random: random)
        commands = CommandEndpoint(store: store, provider: provider, sessions: sessions, engine: scriptEngine)
    }

    /// Every route of the server.
    public func router(metrics: HTTPMetrics?) -> Router {
        var router = Router()
        router.add("GET", "/health/live") { _ in .json(["status": "live"]) }
        router.add("GET", "/health/ready") { [store, logger] _ in
            do {
                try store.checkHealth()
                return .json(["status": "ready"])
            } catch {
                logger.warning("readiness check failed", [("error", "\(error)")])
                return .json(["status": "unavailable"], status: 503)
            }
        }
        if let metrics {
            router.add("GET", "/metrics") { _ in .text(metrics.renderPrometheus(), contentType: "text/plain; version=0.0.4; charset=utf-8") }
        }
        router.add("GET", "/json/serverinfo/{id}") { [self] request in try serverInfo(request) }
        addAdminRoutes(to: &router)
        addIECRoutes(to: &router)
        addOAuth2SettingsRoutes(to: &router)
        addOAuth2Routes(to: &router)
        addVerificationRoutes(to: &router)
        addIdentityManagerRoutes(to: &router)
        return router
    }

    // MARK: AM REST shape

    /// `GET /json/serverinfo/*`, with the fields the seed's curl check shows.
    func serverInfo(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        guard request.pathParameters["id"] == "*" else { throw HTTPError(status: 404, message: "no such server information") }
        let info: JSONValue = [
            "_id": "*", "_rev": .string(String(Int64(clock.now))), "domains": [], "protectedUserAttributes": [],
            "cookieName": .string(configuration.cookieName), "secureCookie": .bool(configuration.tls != nil),
            "forgotPassword": "false", "forgotUsername": "false", "kbaEnabled": "false", "selfRegistration": "false",
            "lang": "en-US", "successfulUserRegistrationDestination": "default", "socialImplementations": [],
            "referralsEnabled": "false",
            "zeroPageLogin": ["enabled": false, "refererWhitelist": [], "allowedWithoutReferer": true],
            "realm": "/", "xuiUserSessionValidationEnabled": true, "fileBasedConfiguration": false,
        ]
        return .json(info)
    }

    /// `Set-Cookie` for a session token: HttpOnly, SameSite=Strict, Secure under HTTPS.
    func sessionCookie(_ token: String, maxAge: Int, secure: Bool) -> (String, String) {
        var cookie = "\(configuration.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"
        if secure { cookie += "; Secure" }
        return ("Set-Cookie", cookie)
    }

    func audit(realm: String, actor: String, action: String, target: String, outcome: String, details: JSONValue = .object([:])) {
        do {
            try store.appendAudit(AuditEvent(realm: realm, time: clock.now, actor: actor, action: action, target: target, outcome: outcome, details: details))
        } catch {
            logger.error("audit event not stored", [("action", action), ("error", "\(error)")])
        }
    }
}

extension AMServer {
    /// Nil when `source` compiles; otherwise why not. Compiling only: `new Function`
    /// parses the body without running it.
    func scriptEngineCheck(_ source: String) -> String? {
        do {
            _ = try scriptEngine.run(source: "new Function(__source);", name: "check", inputs: ["__source": .string(source)], functions: [:], outputs: [])
            return nil
        } catch let error as ScriptError {
            return error.message
        } catch {
            return "\(error)"
        }
    }
}

/// Text made safe for HTML element content and attribute values.
func htmlEscape(_ text: String) -> String {
    var output = ""
    output.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": output += "&amp;"
        case "<": output += "&lt;"
        case ">": output += "&gt;"
        case "\"": output += "&quot;"
        case "'": output += "&#39;"
        default: output.append(character)
        }
    }
    return output
}
