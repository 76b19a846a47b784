import Foundation
import PointsLedger
import Postgres
import TestSupport
import Testing

/// The task, tier and birthday commands, run as the built binary.
@Suite("points-admin: tasks, tiers, birthdays")
struct TaskCLITests {
    let cli = CLITests()

    @Test func configureCompleteAndShow() async throws {
        try await cli.withProgram { run, configuration in
            let listed = try run(["task", "list"])
            #expect(listed.status == 0)
            #expect(listed.stdout.contains("\ncheckin       5  -        -         -          no          no               yes     7:20 every 7 days  the start\n"), "\(listed.stdout)")
            let set = try run(["task", "set", "quiz", "--points", "15", "--cap-day", "1", "--qualifying", "--actor", "alice", "--json"])
            #expect(set.status == 0, "\(set.stderr)")
            let task = (try JSONSerialization.jsonObject(with: Data(set.stdout.utf8)) as! [String: Any])["task"] as! [String: Any]
            #expect(task["points"] as? Int == 15 && task["cap_day"] as? Int == 1 && task["qualifying"] as? Bool == true)
            let changes = try TestDatabase.sql(
                configuration, "SELECT actor, after->>'points' FROM points.configuration_changes WHERE subject = 'task quiz'")
            #expect(try changes.single().decode(String.self, at: 0) == "alice")

            let checkin = try run(["task", "complete", "checkin", "--member", "m1"])
            #expect(checkin.status == 0)
            // A check-in is once a day by its key, not by a cap: no cap of it is reached (issue 32, finding 8).
            #expect(checkin.stdout.contains("earned 5 points.\nstreak       1 days\ncap reached  no\navailable    105\n"), "\(checkin.stdout)")
            let again = try run(["task", "complete", "checkin", "--member", "m1"])
            #expect(again.stdout.contains("was already recorded (5 points); nothing new was posted."))
            #expect(try run(["task", "complete", "quiz", "--member", "m1", "--ref", "q1"]).status == 0)
            let capped = try run(["task", "complete", "quiz", "--member", "m1", "--ref", "q2", "--json"])
            let result = try JSONSerialization.jsonObject(with: Data(capped.stdout.utf8)) as! [String: Any]
            #expect(result["capped_by"] as? String == "day" && result["points"] as? Int == 0)

            let shown = try run(["member", "show", "m1"])
            #expect(shown.stdout.contains("check-in streak  1 days, checked in today\n"))
            #expect(shown.stdout.contains("\nquiz         15  1/1    1          1           yes\n"))
            let json = try JSONSerialization.jsonObject(with: Data(try run(["member", "show", "m1", "--json"]).stdout.utf8)) as! [String: Any]
            #expect((json["checkin_streak"] as? [String: Any])?["days"] as? Int == 1)
            #expect((json["tasks"] as? [[String: Any]])?.count == 4)
            #expect(try run(["audit", "verify"]).status == 0)
        }
    }

    @Test func birthdaysAndTiers() async throws {
        try await cli.withProgram { run, _ in
            let tier = try run(["tier", "set", "ordinary", "--birthday-bonus", "30"])
            #expect(tier.status == 0)
            #expect(tier.stdout.contains("\nordinary     0             0  -                        0  -             ×1                      30"))
            let created = try run(["member", "create", "b1", "--birthday", "02-29"])
            #expect(created.stdout.contains("\nbirthday   02-29\n"))
            let updated = try run(["member", "update", "b1", "--birthday", "none", "--json"])
            #expect((try JSONSerialization.jsonObject(with: Data(updated.stdout.utf8)) as! [String: Any])["birthday"] == nil)
            let job = try run(["jobs", "birthday", "--json"])
            #expect(job.status == 0)
            let summary = try JSONSerialization.jsonObject(with: Data(job.stdout.utf8)) as! [String: Any]
            #expect(summary["members"] as? Int == 2 && summary["paid"] as? Int == 0)
            let text = try run(["jobs", "birthday"])
            #expect(text.stdout.contains(": 0 of 2 members paid, 0 points, 1 chunks committed in "))
        }
    }

    @Test func taskErrors() async throws {
        try await cli.withProgram { run, _ in
            let cases: [([String], Int32, String)] = [
                (["task", "complete", "dance", "--member", "m1", "--ref", "d"], 1,
                 "Task \"dance\" does not exist in this program; `points-admin task list` shows them.\n"),
                (["task", "complete", "post", "--member", "m1"], 2, "Invalid ref: a post completion needs the app's reference for it (--ref).\n"),
                (["task", "complete", "checkin", "--member", "ghost"], 1, "Member \"ghost\" does not exist"),
                (["task", "complete", "checkin", "--member", "m1", "--ref", "2020-01-01"], 2, "Invalid ref: a check-in's ref is its local date"),
                (["task", "complete", "share", "--member", "m1", "--ref", "s", "--at", "2020-01-01"], 2,
                 "Invalid occurred at: 2020-01-01 00:00:00 +08:00 is older than the program's back-dating window of 7 days; loading history needs an explicit back-dating permission (--allow-backdated).\n"),
                (["task", "set", "post", "--cap-day", "-1"], 2, "Invalid --cap-day: \"-1\" is not a whole number of 0 or more (or none).\n"),
                (["task", "set", "post", "--points", "-5"], 2, "Invalid --points: \"-5\" is not a whole number of 0 or more points.\n"),
                (["task", "set", "checkin", "--streak", "3-5"], 2, "Invalid streak: \"3-5\" is not a streak rule: write DAYS:POINTS"),
                (["task", "set", "post", "--streak", "3:5"], 2, "Invalid streak: only the checkin task has streak bonuses.\n"),
                (["task", "set", "newtask", "--cap-day", "2"], 2, "Invalid task: \"newtask\" does not exist yet; create it by giving its points"),
                (["task", "set", "Bad", "--points", "1"], 2, "Invalid task: \"Bad\" is not a task code"),
                (["task", "set", "post"], 2, "Invalid task settings: no setting was given to change.\n"),
                (["tier", "set", "gold", "--birthday-bonus", "5"], 2, "Invalid tier: \"gold\" is not a tier of this program"),
                (["member", "create", "b2", "--birthday", "02-30"], 2, "Invalid birthday: \"02-30\" is not a birthday: write MM-DD"),
                (["jobs", "birthday", "--as-of", "2099-01-01"], 2, "Invalid as-of time:"),
            ]
            for (arguments, status, message) in cases {
                let output = try run(arguments)
                #expect(output.status == status, "\(arguments): \(output.stderr)")
                #expect(output.stderr.hasPrefix(message), "\(arguments): \(output.stderr)")
            }
            #expect(try run(["member", "show", "b2"]).status == 1)
            let history = try run(["member", "history", "m1", "--json"])
            let page = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any]
            #expect((page?["items"] as? [[String: Any]])?.count == 1)
        }
    }
}
