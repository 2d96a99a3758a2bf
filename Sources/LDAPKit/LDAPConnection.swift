import CLDAP

/// One connection to the directory, bound, owning its `LDAP*` (freed in `deinit`).
///
/// Used by one thread at a time (``LDAPPool`` hands it out exclusively); the
/// calls are libldap's synchronous ones, each bounded by the options' timeout.
/// A failure that breaks the connection (server down, timeout) marks it
/// ``isBroken``; the pool then discards it.
///
/// libldap writes to its socket with `write(2)`: a process using LDAPKit must
/// ignore SIGPIPE (iec-am does, in IECCLI), or a write to a connection the
/// directory closed would end it.
public final class LDAPConnection: @unchecked Sendable {
    public let options: LDAPConnectionOptions
    private let handle: OpaquePointer
    public private(set) var isBroken = false

    /// Connects (StartTLS when configured) and binds. Throws `unreachable`
    /// naming the URL when the directory does not answer, `result` for a refused bind.
    public init(_ options: LDAPConnectionOptions) throws {
        self.options = options
        var pointer: OpaquePointer?
        let rc = ldap_initialize(&pointer, options.url)
        guard rc == LDAP_SUCCESS, let pointer else {
            throw LDAPError(.local, code: rc, "invalid LDAP URL \(options.url): \(Self.text(rc))")
        }
        handle = pointer
        try configure()
        if options.startTLS {
            let tls = ldap_start_tls_s(handle, nil, nil)
            guard tls == LDAP_SUCCESS else { throw failure(tls, "StartTLS with \(options.url)") }
        }
        let bind: Int32 =
            if let dn = options.bindDN {
                options.bindPassword.withCString { iec_ldap_simple_bind(handle, dn, $0, strlen($0)) }
            } else {
                iec_ldap_simple_bind(handle, nil, nil, 0)
            }
        guard bind == LDAP_SUCCESS else {
            throw failure(bind, "bind as \(options.bindDN ?? "anonymous") to \(options.url)")
        }
    }

    deinit {
        ldap_unbind_ext_s(handle, nil, nil)
    }

    private func configure() throws {
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == LDAP_OPT_SUCCESS else { throw LDAPError(.local, code: rc, "cannot set \(what) for \(options.url)") }
        }
        try check(iec_ldap_set_int(handle, LDAP_OPT_PROTOCOL_VERSION, LDAP_VERSION3), "protocol version 3")
        try check(iec_ldap_set_off(handle, LDAP_OPT_REFERRALS), "referrals off")
        try check(iec_ldap_set_timeout(handle, LDAP_OPT_NETWORK_TIMEOUT, options.timeout), "the network timeout")
        try check(iec_ldap_set_timeout(handle, LDAP_OPT_TIMEOUT, options.timeout), "the operation timeout")
        let usesTLS = options.startTLS || options.url.lowercased().hasPrefix("ldaps:")
        if usesTLS {
            try check(iec_ldap_set_int(handle, LDAP_OPT_X_TLS_REQUIRE_CERT, LDAP_OPT_X_TLS_DEMAND), "TLS certificate checking")
            if let caFile = options.caFile {
                try check(iec_ldap_set_string(handle, LDAP_OPT_X_TLS_CACERTFILE, caFile), "the CA file \(caFile)")
            }
            try check(iec_ldap_new_tls_context(handle), "a TLS context (CA file \(options.caFile ?? "system"))")
        }
    }

    static func text(_ rc: Int32) -> String { String(cString: ldap_err2string(rc)) }

    /// The error for `rc`, marking the connection broken when it is.
    private func failure(_ rc: Int32, _ what: String) -> LDAPError {
        switch rc {
        case LDAPResultCode.serverDown, LDAPResultCode.connectError:
            isBroken = true
            return LDAPError(.unreachable, code: rc, "directory unreachable at \(options.url) (\(what): \(Self.text(rc))\(diagnostic))")
        case LDAPResultCode.clientTimeout:
            isBroken = true
            return LDAPError(.timeout, code: rc, "directory at \(options.url) did not answer within \(options.timeout)s (\(what))")
        case LDAPResultCode.localError, LDAPResultCode.encodingError, LDAPResultCode.decodingError, LDAPResultCode.noMemory,
            LDAPResultCode.paramError:
            isBroken = true
            return LDAPError(.local, code: rc, "\(what) on \(options.url): \(Self.text(rc))\(diagnostic)")
        default:
            return LDAPError(.result, code: rc, "\(what): \(Self.text(rc))\(diagnostic)")
        }
    }

    private var diagnostic: String {
        guard let message = iec_ldap_diagnostic(handle) else { return "" }
        defer { ldap_memfree(message) }
        let text = String(cString: message)
        return text.isEmpty ? "" : " (\(text))"
    }

    /// True when the server closed or wrote to this idle connection (e.g. it restarted).
    var looksStale: Bool { isBroken || iec_ldap_idle_socket_is_stale(handle) != 0 }

    // MARK: Operations

    /// Adds the entry; throws `result` with alreadyExists (68) when the DN exists.
    public func add(_ dn: String, _ attributes: [(String, [[UInt8]])]) throws {
        let modifications = attributes.map { LDAPModification(.add, $0.0, $0.1) }
        let rc = try withMods(modifications, forAdd: true) { ldap_add_ext_s(handle, dn, $0, nil, nil) }
        guard rc == LDAP_SUCCESS else { throw failure(rc, "add \(dn)") }
    }

    /// Applies every modification atomically.
    public func modify(_ dn: String, _ modifications: [LDAPModification]) throws {
        let rc = try withMods(modifications, forAdd: false) { ldap_modify_ext_s(handle, dn, $0, nil, nil) }
        guard rc == LDAP_SUCCESS else { throw failure(rc, "modify \(dn)") }
    }

    public func delete(_ dn: String) throws {
        let rc = ldap_delete_ext_s(handle, dn, nil, nil)
        guard rc == LDAP_SUCCESS else { throw failure(rc, "delete \(dn)") }
    }

    private func withMods(_ modifications: [LDAPModification], forAdd: Bool, _ body: (UnsafeMutablePointer<UnsafeMutablePointer<LDAPMod>?>) -> Int32) throws -> Int32 {
        let count = Int32(modifications.count)
        guard let mods = iec_ldap_mods_new(count) else { throw LDAPError(.local, code: LDAPResultCode.noMemory, "out of memory") }
        defer { iec_ldap_mods_free(mods, count) }
        for (index, modification) in modifications.enumerated() {
            let op: Int32 =
                switch modification.operation {
                case .add: forAdd ? 0 : LDAP_MOD_ADD
                case .delete: LDAP_MOD_DELETE
                case .replace: LDAP_MOD_REPLACE
                }
            guard iec_ldap_mod_set(mods, Int32(index), op, modification.attribute, Int32(modification.values.count)) != 0 else {
                throw LDAPError(.local, code: LDAPResultCode.noMemory, "out of memory")
            }
            for (valueIndex, value) in modification.values.enumerated() {
                let ok = value.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) {
                        iec_ldap_mod_set_value(mods, Int32(index), Int32(valueIndex), $0.baseAddress, $0.count)
                    }
                }
                guard ok != 0 else { throw LDAPError(.local, code: LDAPResultCode.noMemory, "out of memory") }
            }
        }
        return body(mods)
    }

    /// Searches, `pageSize` entries per round trip with the paged results control
    /// (RFC 2696) when given, calling `each` per entry until it returns false.
    /// Only the named attributes are returned (`["1.1"]` for none, `[]` for all).
    /// `sortedBy`: the server sorts by that attribute's ordering rule first (RFC
    /// 2891, a critical control: a server without it fails the search). A paged
    /// search stopped early is abandoned with a last page of size 0 (RFC 2696 §3),
    /// so the server frees its state. A base that does not exist throws `result`
    /// with noSuchObject (32).
    public func search(
        base: String, scope: LDAPScope, filter: String, attributes: [String], pageSize: Int? = nil, sizeLimit: Int = 0,
        sortedBy: String? = nil, _ each: (LDAPEntry) throws -> Bool
    ) throws {
        let scopeValue =
            switch scope {
            case .base: iec_ldap_scope_base()
            case .oneLevel: iec_ldap_scope_onelevel()
            case .subtree: iec_ldap_scope_subtree()
            }
        let names = attributes.isEmpty ? nil : iec_ldap_strings_new(Int32(attributes.count))
        defer { iec_ldap_strings_free(names) }
        if let names {
            for (index, name) in attributes.enumerated() where iec_ldap_strings_set(names, Int32(index), name) == 0 {
                throw LDAPError(.local, code: LDAPResultCode.noMemory, "out of memory")
            }
        }
        var sort: UnsafeMutablePointer<LDAPControl>?
        if let sortedBy {
            let rc = iec_ldap_sort_control(handle, sortedBy, &sort)
            guard rc == LDAP_SUCCESS else { throw failure(rc, "server-side sort control") }
        }
        defer { if let sort { ldap_control_free(sort) } }
        var cookie: [UInt8]? = nil
        var stopped = false
        var timeout = timeval(tv_sec: Int(options.timeout), tv_usec: Int((options.timeout - Double(Int(options.timeout))) * 1e6))
        repeat {
            var control: UnsafeMutablePointer<LDAPControl>?
            if let pageSize {
                let size = Int32(stopped ? 0 : pageSize)
                let rc: Int32 =
                    if let cookie {
                        cookie.withUnsafeBufferPointer { buffer in
                            buffer.withMemoryRebound(to: CChar.self) { iec_ldap_page_control(handle, size, $0.baseAddress, $0.count, &control) }
                        }
                    } else {
                        iec_ldap_page_control(handle, size, nil, 0, &control)
                    }
                guard rc == LDAP_SUCCESS else { throw failure(rc, "paged results control") }
            }
            defer { if let control { ldap_control_free(control) } }
            var controls: [UnsafeMutablePointer<LDAPControl>?] = [control, sort, nil].filter { $0 != nil } + [nil]
            var result: OpaquePointer?
            let rc = controls.withUnsafeMutableBufferPointer { list in
                ldap_search_ext_s(
                    handle, base, scopeValue, filter, names, stopped ? 1 : 0, list.count == 1 ? nil : list.baseAddress, nil, &timeout,
                    Int32(clamping: sizeLimit), &result)
            }
            defer { if let result { ldap_msgfree(result) } }
            if stopped { return }  // the abandoning page: its outcome does not matter
            guard rc == LDAP_SUCCESS || (rc == LDAPResultCode.sizeLimitExceeded && sizeLimit > 0) else {
                throw failure(rc, "search \(base) for \(filter)")
            }
            guard let result else { return }
            var entry = ldap_first_entry(handle, result)
            while let current = entry {
                guard try each(readEntry(current)) else {
                    stopped = true
                    break
                }
                entry = ldap_next_entry(handle, current)
            }
            cookie = nil
            if pageSize != nil {
                var code: Int32 = 0
                var next: UnsafeMutablePointer<berval>?
                let parsed = iec_ldap_parse_search_result(handle, result, &code, &next)
                guard parsed == LDAP_SUCCESS else { throw failure(parsed, "search result of \(base)") }
                if let next {
                    cookie = Array(UnsafeRawBufferPointer(start: iec_berval_bytes(next), count: iec_berval_length(next)))
                    ber_bvfree(next)
                }
            }
            if stopped && cookie == nil { return }
        } while cookie != nil
    }

    /// The root DSE lists the control (e.g. `1.2.840.113556.1.4.473`, server-side sorting).
    public func supportsControl(_ oid: String) throws -> Bool {
        try read("", attributes: ["supportedControl"])?.strings("supportedControl").contains(oid) ?? false
    }

    /// Every entry of a search (``search(base:scope:filter:attributes:pageSize:sizeLimit:_:)``).
    public func searchAll(base: String, scope: LDAPScope, filter: String, attributes: [String], pageSize: Int? = 500) throws -> [LDAPEntry] {
        var entries: [LDAPEntry] = []
        try search(base: base, scope: scope, filter: filter, attributes: attributes, pageSize: pageSize) {
            entries.append($0)
            return true
        }
        return entries
    }

    /// The entry at `dn`, or nil when it does not exist.
    public func read(_ dn: String, attributes: [String] = []) throws -> LDAPEntry? {
        var found: LDAPEntry?
        do {
            try search(base: dn, scope: .base, filter: "(objectClass=*)", attributes: attributes) {
                found = $0
                return false
            }
        } catch let error as LDAPError where error.kind == .result && error.code == LDAPResultCode.noSuchObject {
            return nil
        }
        return found
    }

    private func readEntry(_ entry: OpaquePointer) -> LDAPEntry {
        var dn = ""
        if let pointer = ldap_get_dn(handle, entry) {
            dn = String(cString: pointer)
            ldap_memfree(pointer)
        }
        var attributes: [String: [[UInt8]]] = [:]
        var ber: OpaquePointer?
        var name = ldap_first_attribute(handle, entry, &ber)
        while let current = name {
            var values: [[UInt8]] = []
            if let list = ldap_get_values_len(handle, entry, current) {
                var index = 0
                while let value = list[index] {
                    values.append(Array(UnsafeRawBufferPointer(start: iec_berval_bytes(value), count: iec_berval_length(value))))
                    index += 1
                }
                ldap_value_free_len(list)
            }
            attributes[String(cString: current).lowercased()] = values
            ldap_memfree(current)
            name = ldap_next_attribute(handle, entry, ber)
        }
        if let ber { ber_free(ber, 0) }
        return LDAPEntry(dn: dn, attributes: attributes)
    }
}
