/// Dispatches requests to handlers by method and path pattern.
///
/// A pattern is a path of segments, each a literal (`access_token`), a
/// parameter (`{realm}`: one non-empty segment) or, as the last segment only, a
/// catch-all (`{rest...}`: one or more segments, possibly empty, joined with `/`).
/// Parameter names are letters, digits and `_`; values land in
/// `HTTPServerRequest.pathParameters`.
/// Segments are matched after percent-decoding, so `%2F` never splits a segment.
/// Matching is exact (no trailing-slash folding).
///
/// When several patterns match, literals win over parameters and parameters over
/// catch-alls, segment by segment from the left; the first matching pattern with
/// a handler for the method is used. Otherwise:
/// - no pattern matches: 404 (JSON error);
/// - `HEAD` with no handler of its own: the `GET` handler (the server sends no body);
/// - `OPTIONS` with no handler of its own: 204 with `Allow`;
/// - any other method: 405 (JSON error) with `Allow`.
///
/// The matched pattern is the route label of the request's metrics; requests no
/// pattern matches are labelled `unmatched`, so labels stay a bounded set.
public struct Router: HTTPResponder {
    /// A request handler; runs on a server thread and may block.
    public typealias Handler = @Sendable (HTTPServerRequest) throws -> HTTPServerResponse

    private var root = Node()

    public init() {}

    /// Adds `handler` for `method` (case-insensitive; stored upper case) on `pattern`.
    ///
    /// A pattern that is malformed (`{`, `}` misplaced, empty names, a catch-all
    /// not at the end) or that repeats one already added for the method (also
    /// with other parameter names) is a programming error and traps.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let method = String(decoding: method.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
        precondition(isHTTPToken(method), "Router: method \"\(method)\" is not a token")
        let segments = Self.parse(pattern)
        var names: [String] = []
        var catchAllName: String?
        for segment in segments {
            switch segment {
            case .literal: break
            case .parameter(let name): names.append(name)
            case .catchAll(let name): catchAllName = name
            }
        }
        let allNames = names + (catchAllName.map { [$0] } ?? [])
        precondition(Set(allNames).count == allNames.count, "Router: pattern \(pattern) repeats a parameter name")
        let route = Route(pattern: pattern, parameterNames: names, catchAllName: catchAllName, handler: handler)
        Self.insert(route, method: method, segments: segments[...], into: &root)
    }

    /// Convenience for `add("GET", pattern, handler)`.
    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    /// Convenience for `add("POST", pattern, handler)`.
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add("POST", pattern, handler) }
    /// Convenience for `add("PUT", pattern, handler)`.
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { add("PUT", pattern, handler) }
    /// Convenience for `add("DELETE", pattern, handler)`.
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add("DELETE", pattern, handler) }

    public func respond(to request: HTTPServerRequest) throws -> HTTPServerResponse {
        guard request.rawPath.utf8.first == UInt8(ascii: "/") else {
            return HTTPError(status: 404, message: "no resource at this path").response
        }
        let rawSegments = Self.split(request.rawPath.dropFirst())  // dropFirst: one ASCII "/"
        let segments = rawSegments.map { URLEncoding.decode($0, plusAsSpace: false) }
        let method = request.method

        var allowed = Set<String>()
        var firstPattern: String?
        var chosen: (route: Route, parameters: [String], rest: String?)?
        var parameters: [String] = []
        _ = Self.visit(root, segments, rawSegments, 0, &parameters) { routes, parameters, rest in
            allowed.formUnion(routes.keys)
            if let route = routes[method] ?? (method == "HEAD" ? routes["GET"] : nil) {
                chosen = (route, parameters, rest)
                return true
            }
            if firstPattern == nil { firstPattern = routes.first?.value.pattern }
            return false
        }

        if let (route, values, rest) = chosen {
            request.route.value = route.pattern
            var routed = request
            if !route.parameterNames.isEmpty || route.catchAllName != nil {
                var pathParameters = routed.pathParameters
                for (name, value) in zip(route.parameterNames, values) {
                    pathParameters[name] = value
                }
                if let name = route.catchAllName {
                    pathParameters[name] = rest ?? ""
                }
                routed.pathParameters = pathParameters
            }
            return try route.handler(routed)
        }
        guard !allowed.isEmpty else {
            return HTTPError(status: 404, message: "no resource at this path").response
        }
        request.route.value = firstPattern
        if allowed.contains("GET") { allowed.insert("HEAD") }
        allowed.insert("OPTIONS")
        let allow = allowed.sorted().joined(separator: ", ")
        if method == "OPTIONS" {
            return HTTPServerResponse(status: 204, headers: [(name: "Allow", value: allow)])
        }
        return HTTPError(
            status: 405, message: "method \(method) is not allowed here", headers: [(name: "Allow", value: allow)]
        ).response
    }

    // MARK: - The tree

    private struct Route: Sendable {
        let pattern: String
        let parameterNames: [String]
        let catchAllName: String?
        let handler: Handler
    }

    private struct Node: Sendable {
        /// Children by decoded literal segment.
        var literals: [String: Node] = [:]
        /// The child for a `{name}` segment (at most one element).
        var parameter: [Node] = []
        /// Routes whose pattern ends with `{name...}` here, by method.
        var catchAll: [String: Route] = [:]
        /// Routes whose pattern ends here, by method.
        var routes: [String: Route] = [:]
    }

    private enum Segment {
        case literal(String)
        case parameter(String)
        case catchAll(String)
    }

    private static func parse(_ pattern: String) -> [Segment] {
        precondition(pattern.first == "/", "Router: pattern \"\(pattern)\" must start with /")
        let pieces = split(pattern.dropFirst())
        var segments: [Segment] = []
        for (index, piece) in pieces.enumerated() {
            if piece.first == "{" && piece.last == "}" && piece.count >= 2 {
                var name = piece.dropFirst().dropLast()
                let isCatchAll = name.hasSuffix("...")
                if isCatchAll {
                    name = name.dropLast(3)
                    precondition(index == pieces.count - 1, "Router: {\(name)...} must be the last segment of \(pattern)")
                }
                precondition(
                    !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" },
                    "Router: bad parameter name in \(pattern)")
                segments.append(isCatchAll ? .catchAll(String(name)) : .parameter(String(name)))
            } else {
                precondition(!piece.contains("{") && !piece.contains("}"), "Router: misplaced { or } in \(pattern)")
                segments.append(.literal(URLEncoding.decode(piece, plusAsSpace: false)))
            }
        }
        return segments
    }

    /// `a/b/c` → `[a, b, c]`; `""` → `[]`; `a/` → `[a, ""]`.
    private static func split(_ path: Substring) -> [Substring] {
        path.isEmpty ? [] : splitASCII(path, UInt8(ascii: "/"))
    }

    private static func insert(_ route: Route, method: String, segments: ArraySlice<Segment>, into node: inout Node) {
        guard let first = segments.first else {
            precondition(node.routes[method] == nil, "Router: \(method) \(route.pattern) is already routed")
            node.routes[method] = route
            return
        }
        switch first {
        case .literal(let text):
            insert(route, method: method, segments: segments.dropFirst(), into: &node.literals[text, default: Node()])
        case .parameter:
            if node.parameter.isEmpty { node.parameter.append(Node()) }
            insert(route, method: method, segments: segments.dropFirst(), into: &node.parameter[0])
        case .catchAll:
            precondition(node.catchAll[method] == nil, "Router: \(method) \(route.pattern) is already routed")
            node.catchAll[method] = route
        }
    }

    /// Calls `found` for every pattern matching `segments[index...]` below `node`,
    /// best first, until it returns true; returns whether it did.
    private static func visit(
        _ node: Node, _ segments: [String], _ rawSegments: [Substring], _ index: Int, _ parameters: inout [String],
        _ found: ([String: Route], [String], String?) -> Bool
    ) -> Bool {
        if index == segments.count {
            if !node.routes.isEmpty && found(node.routes, parameters, nil) { return true }
            return false
        }
        if let child = node.literals[segments[index]],
           visit(child, segments, rawSegments, index + 1, &parameters, found)
        {
            return true
        }
        if let child = node.parameter.first, !segments[index].isEmpty {
            parameters.append(segments[index])
            if visit(child, segments, rawSegments, index + 1, &parameters, found) { return true }
            parameters.removeLast()
        }
        if !node.catchAll.isEmpty {
            let rest = URLEncoding.decode(rawSegments[index...].joined(separator: "/")[...], plusAsSpace: false)
            if found(node.catchAll, parameters, rest) { return true }
        }
        return false
    }
}
