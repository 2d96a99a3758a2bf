import XCTest

@testable import IECLogFile

/// The rotation plan and the failure report: pure logic, no files.
final class RotationPlanTests: XCTestCase {
    private typealias Backup = RotationPlan.Backup

    func testClassifiesBackupNames() {
        let base = "iecservice.log"
        XCTAssertEqual(RotationPlan.classify("iecservice.log.1", base: base), .backup(index: 1, compressed: false))
        XCTAssertEqual(RotationPlan.classify("iecservice.log.12.gz", base: base), .backup(index: 12, compressed: true))
        XCTAssertEqual(RotationPlan.classify("iecservice.log.3.gz.tmp", base: base), .temporary)
        for other in ["iecservice.log", "iecservice.log.", "iecservice.log.0", "iecservice.log.01", "iecservice.log.1.bak",
                      "iecservice.log.-1", "iecservice.log.1234567890", "iecservice.log.old", "other.log.1", "iecservice.log.gz"] {
            XCTAssertNil(RotationPlan.classify(other, base: base), other)
        }
    }

    func testRotationShiftsOldestFirstAndDropsTheLast() {
        let backups = [Backup(index: 1, compressed: true, modified: 0), Backup(index: 2, compressed: true, modified: 0),
                       Backup(index: 3, compressed: false, modified: 0), Backup(index: 3, compressed: true, modified: 0)]
        let plan = RotationPlan.make(backups: backups, temporaries: ["l.2.gz.tmp"], base: "l", maxBackups: 3, maxAgeSeconds: 0,
                                     now: 100, shifting: true)
        XCTAssertEqual(plan.removals, ["l.2.gz.tmp", "l.3.gz", "l.3"])
        XCTAssertEqual(plan.renames, [.init(from: "l.2.gz", to: "l.3.gz"), .init(from: "l.1.gz", to: "l.2.gz")])
    }

    func testGapsAndAges() {
        let backups = [Backup(index: 1, compressed: false, modified: 90), Backup(index: 4, compressed: false, modified: 10),
                       Backup(index: 6, compressed: false, modified: 95)]
        let rotation = RotationPlan.make(backups: backups, temporaries: [], base: "l", maxBackups: 10, maxAgeSeconds: 50, now: 100,
                                         shifting: true)
        XCTAssertEqual(rotation.removals, ["l.4"], "too old")
        XCTAssertEqual(rotation.renames, [.init(from: "l.6", to: "l.7"), .init(from: "l.1", to: "l.2")])
        let exactlyAtTheLimit = RotationPlan.make(backups: [Backup(index: 1, compressed: false, modified: 50)], temporaries: [],
                                                  base: "l", maxBackups: 10, maxAgeSeconds: 50, now: 100, shifting: false)
        XCTAssertEqual(exactlyAtTheLimit.removals, [], "removed only once older than the limit")
    }

    func testZeroBackupsRemovesAllAndCleanUpOnlyRemoves() {
        let backups = [Backup(index: 1, compressed: false, modified: 0), Backup(index: 2, compressed: true, modified: 0)]
        let none = RotationPlan.make(backups: backups, temporaries: [], base: "l", maxBackups: 0, maxAgeSeconds: 0, now: 0, shifting: true)
        XCTAssertEqual(none, RotationPlan(removals: ["l.2.gz", "l.1"], renames: []))
        let cleanUp = RotationPlan.make(backups: backups, temporaries: [], base: "l", maxBackups: 1, maxAgeSeconds: 0, now: 0, shifting: false)
        XCTAssertEqual(cleanUp, RotationPlan(removals: ["l.2.gz"], renames: []))
    }

    func testFailureReportSaysSomethingOnceAMinute() {
        var report = FailureReport()
        XCTAssertEqual(report.succeeded(now: 0), nil, "nothing to say when all is well")
        XCTAssertEqual(report.problem("disk full", lineLost: true, now: 1000), "disk full; 1 log line(s) lost since the last report")
        XCTAssertNil(report.problem("disk full", lineLost: true, now: 1001))
        XCTAssertNil(report.problem("cannot rotate", lineLost: false, now: 1030))
        XCTAssertNil(report.succeeded(now: 1059), "recovered, but too soon to say")
        XCTAssertEqual(report.succeeded(now: 1060), "writing again; 1 log line(s) lost since the last report; 2 more problem(s) not shown")
        XCTAssertNil(report.succeeded(now: 2000), "said once")
        XCTAssertEqual(report.lostLines, 2)
        XCTAssertEqual(report.problem("disk full", lineLost: true, now: 500), "disk full; 1 log line(s) lost since the last report",
                       "a clock set back does not silence the report")
    }
}
