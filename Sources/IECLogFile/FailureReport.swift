/// Counts what went wrong with a log file and decides when to say so on
/// standard error: one line a minute at most, however often writes fail, so a
/// full disk never turns into a flood (or a busy loop) of complaints.
/// The time is a parameter (STYLE habit 5).
struct FailureReport: Sendable {
    /// How often a line may be written, seconds.
    static let interval: Double = 60

    /// Lines that never reached the file, since the sink was made.
    private(set) var lostLines = 0
    /// Lines lost since the last report.
    private var unreportedLostLines = 0
    /// Problems (each a line's worth of text) not shown since the last report.
    private var unreportedProblems = 0
    private var lastReport: Double?
    /// Whether a line was lost since the last successful write.
    private var failing = false

    /// Notes a problem; returns the line to write to standard error now, if any.
    mutating func problem(_ text: String, lineLost: Bool, now: Double) -> String? {
        if lineLost {
            failing = true
            lostLines += 1
            unreportedLostLines += 1
        }
        guard mayReport(now: now) else {
            unreportedProblems += 1
            return nil
        }
        return report(text, now: now)
    }

    /// Notes a successful write; after lost lines, returns a line saying the file is written again (if a line may be written now).
    mutating func succeeded(now: Double) -> String? {
        guard failing, mayReport(now: now) else { return nil }
        failing = false
        return report("writing again", now: now)
    }

    private func mayReport(now: Double) -> Bool {
        guard let lastReport else { return true }
        return now - lastReport >= Self.interval || now < lastReport
    }

    private mutating func report(_ text: String, now: Double) -> String {
        var line = text
        if unreportedLostLines > 0 { line += "; \(unreportedLostLines) log line(s) lost since the last report" }
        if unreportedProblems > 0 { line += "; \(unreportedProblems) more problem(s) not shown" }
        lastReport = now
        unreportedLostLines = 0
        unreportedProblems = 0
        return line
    }
}
