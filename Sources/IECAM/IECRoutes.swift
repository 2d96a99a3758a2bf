public import HTTPServer
public import IECJSON
public import IECRealm
public import OAuth2
public import Store

/// The IEC realm service over HTTP: the authentication chains and the command
/// endpoint for gateways, and the admin API for identities, scripts and settings.
extension AMServer {

    func addIECRoutes(to router: inout Router) {
        let base = "/json/realms/root/realms/{realm}"
        router.add("POST", base + "/authenticate") { [self] request in try iec { try nodeAuthenticate(request) } }
        router.add("POST", base + "/iec") { [self] request in try iec { try command(request) } }
        router.add("POST", base + "/sessions") { [self] request in try sessionAction(request) }

        router.add("GET", base + "/iec/identities") { [self] request in try iec { try listIdentities(request) } }
        router.add("GET", base + "/iec/identities/{id}") { [self] request in try iec { try readIdentity(request) } }
        router.add("DELETE", base + "/iec/identities/{id}") { [self] request in try iec { try deleteIdentity(request) } }
        router.add("POST", base + "/iec/identities/{id}") { [self] request in try iec { try identityAction(request) } }
        router.add("PUT", base + "/iec/identities/{id}/configuration") { [self] request in try iec { try putConfiguration(request) } }
        router.add("GET", base + "/iec/scripts") { [self] request in try iec { try listScripts(request) } }
        router.add("GET", base + "/iec/scripts/{name}") { [self] request in try iec { try readScript(request) } }
        router.add("PUT", base + "/iec/scripts/{name}") { [self] request in try iec { try putScript(request) } }
        router.add("DELETE", base + "/iec/scripts/{name}") { [self] request in try iec { try deleteScript(request) } }
        router.add("GET", base + "/iec/settings") { [self] request in try iec { try readSettings(request) } }
        router.add("PUT", base + "/iec/settings") { [self] request in try iec { try putSettings(request) } }
        router.add("GET", base + "/iec/audit") { [self] request in try iec { try readAudit(request) } }
    }

    /// Turns IEC refusals into AM's error shape; they become the SDK's am_error.
    func iec(_ body: () throws -> HTTPServerResponse) throws -> HTTPServerResponse {
        do {
            return try body()
        } catch let error as IECRealmError {
            if let hint = error.hint { logger.info("iec request refused", [("status", String(error.status)), ("hint", hint)]) }
            throw HTTPError(status: error.status, message: error.message)
        }
    }

    // MARK: Gateways

    func nodeAuthenticate(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let realm = realm(request)
        let body: JSONValue? = request.body.isEmpty ? nil : try request.jsonBody()
        switch try chains.authenticate(realm: realm, chain: request.query["authIndexValue"], body: body) {
        case .callbacks(let json):
            return .json(json)
        case .session(let token, _, let maxAge):
            return .json(
                ["tokenId": .string(token), "successUrl": "/console", "realm": .string("/" + realm)],
                headers: [sessionCookie(token, maxAge: Int(maxAge), secure: request.isSecure)])
        }
    }

    func command(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        guard request.query["_action"] == "command" else { throw HTTPError(status: 400, message: "use ?_action=command") }
        let token = request.header(configuration.cookieName.lowercased()) ?? request.cookies[configuration.cookieName]
        return .json(try commands.handle(realm: realm(request), sessionToken: token, body: request.body), headers: noStore)
    }

    // MARK: Identities

    func identityJSON(_ node: IdentityRecord) -> JSONValue {
        [
            "_id": .string(node.id), "id": .string(node.id), "type": .string(node.type.rawValue), "status": .string(node.status.rawValue),
            "parent": node.parentID.map(JSONValue.string) ?? .null, "registrationTime": .double(node.registrationTime),
            "publicKeys": node.publicKeys, "configuration": node.configuration, "userConfiguration": node.userConfiguration,
            "pairedUser": node.pairedUser.map(JSONValue.string) ?? .null, "attributes": node.attributes,
        ]
    }

    func identityFilter(_ request: HTTPServerRequest) throws -> IdentityFilter {
        var filter = IdentityFilter()
        if let type = request.query["type"], !type.isEmpty {
            guard let value = IdentityRecord.NodeType(rawValue: type) else { throw HTTPError(status: 400, message: "type must be iec, client or device") }
            filter.type = value
        }
        if let status = request.query["status"], !status.isEmpty {
            guard let value = IdentityRecord.Status(rawValue: status) else { throw HTTPError(status: 400, message: "status must be registered or disabled") }
            filter.status = value
        }
        if let parent = request.query["parent"], !parent.isEmpty { filter.parentID = parent }
        if let text = request.query["q"], !text.isEmpty { filter.idContains = String(text.prefix(128)) }
        return filter
    }

    func listIdentities(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        let filter = try identityFilter(request)
        let page = try store.listIdentities(realm: realm, filter: filter, page: page(request))
        var response = listing(page.items.map(identityJSON), next: page.nextCursor)
        if request.query["_totalCount"] != "false", case .object(var members) = try JSONValue.parse(response.body) {
            members["totalCount"] = .int(Int64(try store.countIdentities(realm: realm, filter: filter)))
            response = .json(.object(members))
        }
        return response
    }

    func requireIdentity(_ request: HTTPServerRequest, realm: String) throws -> IdentityRecord {
        guard let node = try store.identity(realm: realm, id: request.pathParameters["id"] ?? "") else {
            throw HTTPError(status: 404, message: "no such identity")
        }
        return node
    }

    func readIdentity(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        let node = try requireIdentity(request, realm: realm)
        let children = try store.listIdentities(realm: realm, filter: IdentityFilter(parentID: node.id), page: PageRequest(limit: 1000))
        var json = identityJSON(node).objectValue!
        json["children"] = .array(children.items.map { ["id": .string($0.id), "type": .string($0.type.rawValue), "status": .string($0.status.rawValue)] })
        return .json(.object(json))
    }

    func deleteIdentity(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let id = request.pathParameters["id"] ?? ""
        let removed = try registry.delete(realm: realm, id: id)
        guard !removed.isEmpty else { throw HTTPError(status: 404, message: "no such identity") }
        audit(realm: realm, actor: admin.subject, action: "identity.delete", target: id, outcome: "success", details: ["deleted": .array(removed.map(JSONValue.string))])
        return .json(["_id": .string(id), "deleted": .array(removed.map(JSONValue.string))])
    }

    /// `?_action=disable|enable|revokeTokens`.
    func identityAction(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let node = try requireIdentity(request, realm: realm)
        let action = request.query["_action"] ?? ""
        switch action {
        case "disable", "enable":
            let updated = try registry.setDisabled(realm: realm, id: node.id, disabled: action == "disable")
            audit(realm: realm, actor: admin.subject, action: "identity.\(action)", target: node.id, outcome: "success")
            return .json(identityJSON(updated))
        case "revokeTokens":
            try provider.revokeAllTokens(realm: realm, clientID: node.id)
            try store.deleteSessions(realm: realm, subject: node.id)
            audit(realm: realm, actor: admin.subject, action: "identity.revoke_tokens", target: node.id, outcome: "success")
            return .json(["_id": .string(node.id), "revoked": true])
        default:
            throw HTTPError(status: 400, message: "_action must be disable, enable or revokeTokens")
        }
    }

    func putConfiguration(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let configuration = try request.jsonBody()
        guard configuration.objectValue != nil else { throw HTTPError(status: 400, message: "the configuration must be a JSON object") }
        guard configuration.serializedBytes().count <= 64 * 1024 else { throw HTTPError(status: 413, message: "the configuration is larger than 64 KiB") }
        let node = try registry.update(realm: realm, id: request.pathParameters["id"] ?? "") { $0.configuration = configuration }
        audit(realm: realm, actor: admin.subject, action: "identity.configure", target: node.id, outcome: "success")
        return .json(identityJSON(node))
    }

    // MARK: Scripts and settings

    func scriptJSON(_ script: ScriptRecord, mappedTo commands: [String]) -> JSONValue {
        [
            "_id": .string(script.name), "name": .string(script.name), "kind": .string(script.kind), "source": .string(script.source),
            "description": .string(script.description), "commands": .array(commands.map(JSONValue.string)), "updated": .double(script.updatedAt),
        ]
    }

    func iecSettings(_ realm: String) throws -> IECServiceSettings {
        IECServiceSettings(json: try store.realm(named: realm)?.settings["iec"])
    }

    func listScripts(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        let mapping = try iecSettings(realm).commandScripts
        let scripts = try store.listScripts(realm: realm)
        return listing(scripts.map { script in scriptJSON(script, mappedTo: mapping.filter { $0.value == script.name }.keys.sorted()) }, next: nil)
    }

    func readScript(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        guard let script = try store.script(realm: realm, name: request.pathParameters["name"] ?? "") else {
            throw HTTPError(status: 404, message: "no such script")
        }
        let mapping = try iecSettings(realm).commandScripts
        return .json(scriptJSON(script, mappedTo: mapping.filter { $0.value == script.name }.keys.sorted()))
    }

    /// Creates or replaces a script: {"source": "...", "kind": "command"|"attestation", "description": "..."}.
    /// The source is compiled first; one with a syntax error is refused.
    func putScript(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let name = request.pathParameters["name"] ?? ""
        guard RealmSetup.isValidRealmName(name) else { throw HTTPError(status: 400, message: "script names are 1 to 64 letters, digits, '-' or '_'") }
        let body = try request.jsonBody()
        guard let source = body["source"]?.stringValue else { throw HTTPError(status: 400, message: "source (a string) is required") }
        let kind = body["kind"]?.stringValue ?? "command"
        guard kind == "command" || kind == "attestation" else { throw HTTPError(status: 400, message: "kind must be command or attestation") }
        if let problem = scriptEngineCheck(source) { throw HTTPError(status: 400, message: "the script does not compile: \(problem)") }
        let now = clock.now
        let existing = try store.script(realm: realm, name: name)
        let script = ScriptRecord(
            realm: realm, name: name, kind: kind, source: source, description: body["description"]?.stringValue ?? existing?.description ?? "",
            createdAt: existing?.createdAt ?? now, updatedAt: now)
        try store.putScript(script)
        audit(realm: realm, actor: admin.subject, action: "script.put", target: name, outcome: "success")
        return .json(scriptJSON(script, mappedTo: []), status: existing == nil ? 201 : 200)
    }

    func deleteScript(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let name = request.pathParameters["name"] ?? ""
        guard try store.deleteScript(realm: realm, name: name) else { throw HTTPError(status: 404, message: "no such script") }
        audit(realm: realm, actor: admin.subject, action: "script.delete", target: name, outcome: "success")
        return .json(["_id": .string(name)])
    }

    func settingsJSON(_ settings: IECServiceSettings) -> JSONValue {
        var json = settings.json.objectValue!
        json["vendor_secret"] = nil
        json["vendor_secret_set"] = .bool(!settings.vendorSecret.isEmpty)
        return .object(json)
    }

    func readSettings(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        return .json(settingsJSON(try iecSettings(realm)))
    }

    /// Changes some IEC service settings; members not given keep their values.
    func putSettings(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        let admin = try requireAdmin(request)
        let realm = try requireRealm(request)
        let body = try request.jsonBody()
        guard case .object(let changes) = body else { throw HTTPError(status: 400, message: "the body must be a JSON object") }
        let allowed: Set<String> = [
            "id_token_issuer", "id_token_audience", "vendor_secret", "command_scripts", "attestation_script", "default_script",
            "session_idle_timeout", "session_max_lifetime", "max_id_token_lifetime",
        ]
        if let unknown = changes.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw HTTPError(status: 400, message: "unknown or read-only setting \"\(unknown.prefix(64))\"")
        }
        guard var record = try store.realm(named: realm), case .object(var settings) = record.settings else {
            throw HTTPError(status: 404, message: "no such realm")
        }
        var current = (settings["iec"]?.objectValue) ?? [:]
        for (key, value) in changes { current[key] = value }
        let parsed = IECServiceSettings(json: .object(current))
        if let mapping = changes["command_scripts"] {
            guard let object = mapping.objectValue, object.values.allSatisfy({ $0.stringValue != nil }) else {
                throw HTTPError(status: 400, message: "command_scripts maps command names to script names (strings)")
            }
        }
        settings["iec"] = parsed.json
        record.settings = .object(settings)
        record.updatedAt = clock.now
        try store.putRealm(record)
        provider.invalidateRealm(realm)
        audit(realm: realm, actor: admin.subject, action: "settings.update", target: "iec", outcome: "success",
              details: ["changed": .array(changes.keys.sorted().map(JSONValue.string))])
        return .json(settingsJSON(parsed))
    }

    func readAudit(_ request: HTTPServerRequest) throws -> HTTPServerResponse {
        _ = try requireAdmin(request)
        let realm = try requireRealm(request)
        let limit = max(1, min(request.query["_pageSize"].flatMap(Int.init) ?? 100, 1000))
        let events = try store.recentAudit(realm: realm, limit: limit, before: request.query["before"].flatMap(Int64.init))
        return listing(events.map { event in
            [
                "sequence": .int(event.sequence), "time": .double(event.time), "actor": .string(event.actor), "action": .string(event.action),
                "target": .string(event.target), "outcome": .string(event.outcome), "details": event.details,
            ]
        }, next: events.count == limit ? events.last.map { String($0.sequence) } : nil)
    }
}
