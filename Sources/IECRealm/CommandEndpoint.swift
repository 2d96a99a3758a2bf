public import IECCrypto
public import IECJSON
public import JOSE
public import OAuth2
public import Scripting
public import Store
internal import Synchronization

/// `POST /json/realms/root/realms/{realm}/iec?_action=command`: a gateway,
/// signed in with its session, asks for something for itself or one of its
/// nodes. The body is a JWS signed by the gateway's key whose claims are
/// `command`, `id` (the node; the gateway itself when absent), `params`, `aud`
/// (the endpoint URL), `nonce` (an integer, strictly increasing per gateway) and
/// `csrf` (the session token, binding the body to the session).
public struct CommandEndpoint: Sendable {
    public let store: any Store
    public let provider: OAuth2Provider
    public let registry: NodeRegistry
    public let sessions: SessionManager
    public let engine: ScriptEngine

    public init(store: any Store, provider: OAuth2Provider, sessions: SessionManager, engine: ScriptEngine = ScriptEngine()) {
        self.store = store
        self.provider = provider
        self.registry = NodeRegistry(store: store, clock: provider.clock)
        self.sessions = sessions
        self.engine = engine
    }

    public func url(realm: String) -> String { provider.publicURL + "/json/realms/root/realms/\(realm)/iec?_action=command" }

    /// Verifies the request and runs its command; returns the command's JSON result.
    public func handle(realm: String, sessionToken: String?, body: [UInt8]) throws -> JSONValue {
        guard let context = try provider.realmContext(realm) else { throw IECRealmError.notFound("realm \(realm) not found") }
        guard let sessionToken, let session = try sessions.validate(sessionToken), session.kind == "node", session.realm == realm else {
            throw IECRealmError.unauthorized("a valid gateway session is required")
        }
        guard let gateway = try store.identity(realm: realm, id: session.subject), gateway.type == .iec else {
            throw IECRealmError.unauthorized("the session does not belong to a gateway")
        }
        guard gateway.status == .registered else { throw IECRealmError.unauthorized("the gateway \(gateway.id) is disabled") }

        let claims: JWTClaims
        do {
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters()
            let verified = try JWS.verify(text, keys: .set(try registry.keys(of: gateway)), maxBytes: 256 * 1024)
            claims = try verified.claims()
            try JWTValidationPolicy(audience: url(realm: realm), leeway: 30, requireExpiration: false).validate(claims, now: provider.clock.now)
        } catch let error as JOSEError {
            throw IECRealmError.unauthorized("the command was refused: \(error.reason)")
        }
        guard let csrf = claims["csrf"]?.stringValue, ConstantTime.equals(csrf, sessionToken) else {
            throw IECRealmError.unauthorized("the command is not bound to this session (csrf)")
        }
        guard let nonce = claims["nonce"]?.int64Value, nonce > 0 else { throw IECRealmError.badRequest("the command needs an integer nonce") }
        guard try store.advanceCommandNonce(realm: realm, id: gateway.id, to: nonce) else {
            throw IECRealmError.unauthorized("the command nonce was used before or is out of order")
        }
        guard let command = claims["command"]?.stringValue, !command.isEmpty, command.utf8.count <= 128 else {
            throw IECRealmError.badRequest("the command has no name")
        }
        let params = claims["params"] ?? .object([:])
        guard params.objectValue != nil else { throw IECRealmError.badRequest("params must be a JSON object") }
        let call = Call(context: context, gateway: gateway, command: command, targetID: claims["id"]?.stringValue ?? gateway.id, params: params)
        return try run(call)
    }

    struct Call {
        let context: RealmContext
        let gateway: IdentityRecord
        let command: String
        let targetID: String
        let params: JSONValue
        var realm: String { context.name }
    }

    private func settings(_ context: RealmContext) -> IECServiceSettings { IECServiceSettings(json: context.record.settings["iec"]) }

    private func run(_ call: Call) throws -> JSONValue {
        let iec = settings(call.context)
        let builtin = Builtin(rawValue: call.command)
        guard let scriptName = iec.commandScripts[call.command] else {
            throw IECRealmError.badRequest("no script found for command")
        }
        let script = try store.script(realm: call.realm, name: scriptName)
        // A built-in whose mapped script is still the shipped default runs natively;
        // a replaced script runs in the sandbox, with `builtin()` at hand.
        if let builtin, script == nil || script?.source == DefaultScripts.source(for: scriptName) {
            return try perform(builtin, call, params: call.params)
        }
        guard let script else { throw IECRealmError.badRequest("no script found for command") }
        let target = try targetNode(call, for: builtin)
        return try runScript(script, call: call, node: target, builtin: builtin)
    }

    /// The node a command is about; it must be the gateway or one of its descendants.
    private func targetNode(_ call: Call, for builtin: Builtin?) throws -> IdentityRecord? {
        if builtin == .registerClient || builtin == .registerDevice { return nil }
        let id = call.params["id"]?.stringValue ?? call.targetID
        guard let node = try store.identity(realm: call.realm, id: id) else { throw IECRealmError.notFound("no identity named \(id)") }
        guard try registry.isSelfOrDescendant(node, of: call.gateway.id) else {
            throw IECRealmError.forbidden("\(id) is not a node of the gateway \(call.gateway.id)")
        }
        guard node.status == .registered else { throw IECRealmError.forbidden("the identity \(id) is disabled") }
        return node
    }

    enum Builtin: String {
        case registerClient = "REGISTER_CLIENT"
        case registerDevice = "REGISTER_DEVICE"
        case getIecConfig = "GET_IEC_CONFIG"
        case getClientConfig = "GET_CLIENT_CONFIG"
        case getConfig = "GET_CONFIG"
        case getTokens = "GET_TOKENS"
        case getUserCode = "GET_USER_CODE"
        case getUserTokens = "GET_USER_TOKENS"
        case introspect = "INTROSPECT"
    }

    private func perform(_ builtin: Builtin, _ call: Call, params: JSONValue) throws -> JSONValue {
        switch builtin {
        case .registerClient:
            let id = try requiredString(params, "id")
            let node = try registry.register(
                realm: call.realm, id: id, type: .client, parentID: call.gateway.id, key: try NodeRegistry.publicKey(fromJWK: try requiredValue(params, "jwk")))
            audit(call, action: "node.register", target: id, details: ["type": "client"])
            return ["id": .string(node.id), "type": "client", "parent": .string(call.gateway.id)]
        case .registerDevice:
            return try registerDevice(call, params: params)
        case .getIecConfig:
            return call.gateway.configuration
        case .getClientConfig, .getConfig:
            guard let node = try targetNode(call, for: builtin) else { throw IECRealmError.badRequest("no node given") }
            if builtin == .getClientConfig, node.type != .client { throw IECRealmError.badRequest("\(node.id) is not a client") }
            return node.configuration
        case .getTokens:
            let node = try targetNode(call, for: builtin)!
            let assertion = try requiredString(params, "assertion")
            var form: [String: [String]] = ["grant_type": [GrantType.jwtBearer], "assertion": [assertion]]
            if let scope = params["scope"]?.stringValue { form["scope"] = [scope] }
            do {
                let tokens = try provider.token(realm: call.realm, request: OAuth2Request(form: form, endpointURL: provider.tokenEndpoint(realm: call.realm)))
                guard let access = tokens["access_token"]?.stringValue, let subject = (try? JWTClaims(payload: JWS.decode(access).payload))?.subject,
                    subject == node.id
                else { throw IECRealmError.forbidden("the assertion was not made by \(node.id)") }
                return tokens
            } catch let error as OAuth2Error {
                throw IECRealmError(status: error.status == 401 ? 401 : 400, error.description, hint: error.code)
            }
        case .getUserCode:
            let node = try targetNode(call, for: builtin)!
            guard let client = try store.client(realm: call.realm, clientID: node.id) else { throw IECRealmError.notFound("\(node.id) has no OAuth2 client") }
            return try oauth2 { try provider.startDeviceAuthorization(realm: call.context, client: client, scopes: ["openid"], attributes: ["node": .string(node.id)]) }
        case .getUserTokens:
            let node = try targetNode(call, for: builtin)!
            guard let client = try store.client(realm: call.realm, clientID: node.id) else { throw IECRealmError.notFound("\(node.id) has no OAuth2 client") }
            let deviceCode = try requiredString(params, "device_code")
            let tokens = try oauth2 { try provider.pollDeviceCode(realm: call.context, client: client, deviceCode: deviceCode) }
            if let access = tokens["access_token"]?.stringValue, let user = (try? JWTClaims(payload: JWS.decode(access).payload))?.subject, user != node.id {
                try registry.update(realm: call.realm, id: node.id) { $0.pairedUser = user }
                audit(call, action: "node.pair", target: node.id, details: ["user": .string(user)])
            }
            return tokens
        case .introspect:
            let token = try requiredString(params, "token")
            return try oauth2 { try provider.introspect(realm: call.context, token: token, hint: params["token_type_hint"]?.stringValue) }
        }
    }

    private func registerDevice(_ call: Call, params: JSONValue) throws -> JSONValue {
        let id = try requiredString(params, "id")
        let clientID = try requiredString(params, "client")
        guard let client = try store.identity(realm: call.realm, id: clientID), client.type == .client, client.parentID == call.gateway.id else {
            throw IECRealmError.forbidden("\(clientID) is not a client of the gateway \(call.gateway.id)")
        }
        guard client.status == .registered else { throw IECRealmError.forbidden("the client \(clientID) is disabled") }
        let key = try NodeRegistry.publicKey(fromJWK: try requiredValue(params, "jwk"))
        // Registration data goes to the attestation script, then is discarded (never stored).
        let registrationData = params["registration_data"] ?? .null
        let iec = settings(call.context)
        if let attestation = iec.attestationScript {
            guard let script = try store.script(realm: call.realm, name: attestation) else {
                throw IECRealmError.serverError(hint: "attestation script \(attestation) is missing")
            }
            let candidate: JSONValue = ["id": .string(id), "type": "device", "parent": .string(clientID), "iec": .string(call.gateway.id), "configuration": [:], "userConfiguration": [:]]
            let outputs = try execute(script, call: call, identity: candidate, extraInputs: ["verifiedClaims": ["registration_data": registrationData, "sub": .string(id)]],
                                      outputs: ["authState"], builtin: nil).outputs
            guard outputs["authState"]?.stringValue == "SUCCESS" else {
                audit(call, action: "node.register", target: id, outcome: "failure", details: ["type": "device", "reason": "attestation"])
                throw IECRealmError.unauthorized("the device attestation failed")
            }
        }
        let node = try registry.register(realm: call.realm, id: id, type: .device, parentID: clientID, key: key)
        audit(call, action: "node.register", target: id, details: ["type": "device"])
        return ["id": .string(node.id), "type": "device", "parent": .string(clientID)]
    }

    // MARK: Scripts

    private func runScript(_ script: ScriptRecord, call: Call, node: IdentityRecord?, builtin: Builtin?) throws -> JSONValue {
        let subject = node ?? call.gateway
        let (outputs, userConfiguration) = try execute(script, call: call, identity: identityJSON(subject), extraInputs: [:], outputs: ["response"], builtin: builtin)
        if let userConfiguration {
            try registry.update(realm: call.realm, id: subject.id) { $0.userConfiguration = userConfiguration }
        }
        let response = outputs["response"] ?? .null
        return builtin == nil ? ["response": response] : response
    }

    private func identityJSON(_ node: IdentityRecord) -> JSONValue {
        [
            "id": .string(node.id), "type": .string(node.type.rawValue), "parent": node.parentID.map(JSONValue.string) ?? .null,
            "iec": .string(node.type == .iec ? node.id : (node.type == .client ? node.parentID ?? "" : "")),
            "configuration": node.configuration, "userConfiguration": node.userConfiguration,
        ]
    }

    private func execute(_ script: ScriptRecord, call: Call, identity: JSONValue, extraInputs: [String: JSONValue], outputs: [String],
                         builtin: Builtin?) throws -> (outputs: [String: JSONValue], userConfiguration: JSONValue?) {
        let changed = Mutex<JSONValue?>(nil)
        var functions: [String: HostFunction] = [
            "__setUserConfiguration": { arguments in
                changed.withLock { $0 = arguments.first ?? .object([:]) }
                return .null
            }
        ]
        if let builtin {
            functions["builtin"] = { arguments in
                let params = arguments.first ?? call.params
                do {
                    return try self.perform(builtin, call, params: params.objectValue != nil ? params : call.params)
                } catch let error as IECRealmError {
                    throw ScriptHostError(message: error.message)
                }
            }
        }
        var inputs = extraInputs
        inputs["__identity"] = identity
        inputs["params"] = call.params
        inputs["command"] = .string(call.command)
        do {
            let result = try engine.run(source: script.source, name: script.name, prelude: DefaultScripts.prelude, inputs: inputs, functions: functions, outputs: outputs)
            return (result, changed.withLock { $0 })
        } catch let error as ScriptError {
            audit(call, action: "script.failure", target: script.name, outcome: "failure", details: ["kind": .string("\(error.kind)")])
            throw IECRealmError(status: 500, "the script \(script.name) failed: \(error.message)")
        }
    }

    // MARK: Helpers

    private func oauth2(_ body: () throws -> JSONValue) throws -> JSONValue {
        do {
            return try body()
        } catch let error as OAuth2Error {
            // authorization_pending, slow_down and the like reach the gateway as the message, so it can poll.
            throw IECRealmError(status: error.status, error.code, hint: error.description)
        }
    }

    private func requiredValue(_ params: JSONValue, _ name: String) throws -> JSONValue {
        guard let value = params[name], value != .null else { throw IECRealmError.badRequest("params.\(name) is required") }
        return value
    }

    private func requiredString(_ params: JSONValue, _ name: String) throws -> String {
        guard let value = params[name]?.stringValue, !value.isEmpty else { throw IECRealmError.badRequest("params.\(name) must be a non-empty string") }
        return value
    }

    private func audit(_ call: Call, action: String, target: String, outcome: String = "success", details: JSONValue = .object([:])) {
        try? store.appendAudit(AuditEvent(realm: call.realm, time: provider.clock.now, actor: call.gateway.id, action: action, target: target, outcome: outcome, details: details))
    }
}

/// An error a host function raises inside a script (a JavaScript exception there).
struct ScriptHostError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension String {
    func trimmingCharacters() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
