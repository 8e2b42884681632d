-- Bundle aggregates from per-release counts: a release's related tasks
-- (approved or not), enhancements (open or closed), recorded policy results and
-- the policies of its current phase still waiting for a first evaluation,
-- recomputed from the rows themselves by triggers whenever one of those rows
-- changes (a task's approval, a release's phase, a phase's policies, a policy
-- switched on or off), inside the writing transaction. A policy result moves
-- its release's counts by one at most and is applied as that difference (a
-- policy run writes hundreds of results). A bundle's
-- aggregates are then one grouped read over its members instead of a lookup
-- per task, enhancement and result.
CREATE TABLE tollgate_release_tally (
    "release" TEXT PRIMARY KEY,
    tasks_approved BIGINT NOT NULL DEFAULT 0,
    tasks_not_approved BIGINT NOT NULL DEFAULT 0,
    enhancements_open BIGINT NOT NULL DEFAULT 0,
    enhancements_closed BIGINT NOT NULL DEFAULT 0,
    policies_executed BIGINT NOT NULL DEFAULT 0,
    policies_pending BIGINT NOT NULL DEFAULT 0
);
INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT sys_id AS r FROM sn_dpr_model_release) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;

--! sqlite
CREATE TRIGGER tollgate_release_tally_policy_execution_insert AFTER INSERT ON sn_dpr_model_policy_execution BEGIN
    UPDATE tollgate_release_tally SET policies_executed = policies_executed + CASE WHEN new.status IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END,
        policies_pending = policies_pending - CASE WHEN EXISTS (SELECT 1 FROM sn_dpr_model_release r JOIN sn_dpr_model_template_phase_policy tp ON tp.policy = new.policy JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase AND ph.template_phase = tp.template_phase JOIN sn_pace_policy p ON p.sys_id = new.policy AND p.active = TRUE WHERE r.sys_id = new."release" AND r.current_phase = new.release_phase AND r.product = new.product) THEN 1 ELSE 0 END
    WHERE "release" = new."release";
END;
CREATE TRIGGER tollgate_release_tally_policy_execution_update AFTER UPDATE OF "release", status, release_phase, policy, product ON sn_dpr_model_policy_execution BEGIN
    UPDATE tollgate_release_tally SET policies_executed = policies_executed - CASE WHEN old.status IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END,
        policies_pending = policies_pending + CASE WHEN EXISTS (SELECT 1 FROM sn_dpr_model_release r JOIN sn_dpr_model_template_phase_policy tp ON tp.policy = old.policy JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase AND ph.template_phase = tp.template_phase JOIN sn_pace_policy p ON p.sys_id = old.policy AND p.active = TRUE WHERE r.sys_id = old."release" AND r.current_phase = old.release_phase AND r.product = old.product) THEN 1 ELSE 0 END
    WHERE "release" = old."release";
    UPDATE tollgate_release_tally SET policies_executed = policies_executed + CASE WHEN new.status IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END,
        policies_pending = policies_pending - CASE WHEN EXISTS (SELECT 1 FROM sn_dpr_model_release r JOIN sn_dpr_model_template_phase_policy tp ON tp.policy = new.policy JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase AND ph.template_phase = tp.template_phase JOIN sn_pace_policy p ON p.sys_id = new.policy AND p.active = TRUE WHERE r.sys_id = new."release" AND r.current_phase = new.release_phase AND r.product = new.product) THEN 1 ELSE 0 END
    WHERE "release" = new."release";
END;
CREATE TRIGGER tollgate_release_tally_policy_execution_delete AFTER DELETE ON sn_dpr_model_policy_execution BEGIN
    UPDATE tollgate_release_tally SET policies_executed = policies_executed - CASE WHEN old.status IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END,
        policies_pending = policies_pending + CASE WHEN EXISTS (SELECT 1 FROM sn_dpr_model_release r JOIN sn_dpr_model_template_phase_policy tp ON tp.policy = old.policy JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase AND ph.template_phase = tp.template_phase JOIN sn_pace_policy p ON p.sys_id = old.policy AND p.active = TRUE WHERE r.sys_id = old."release" AND r.current_phase = old.release_phase AND r.product = old.product) THEN 1 ELSE 0 END
    WHERE "release" = old."release";
END;
CREATE TRIGGER tollgate_release_tally_release_related_task_insert AFTER INSERT ON sn_dpr_model_release_related_task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
END;
CREATE TRIGGER tollgate_release_tally_release_related_task_update AFTER UPDATE OF "release", task ON sn_dpr_model_release_related_task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
END;
CREATE TRIGGER tollgate_release_tally_release_related_task_delete AFTER DELETE ON sn_dpr_model_release_related_task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
END;
CREATE TRIGGER tollgate_release_tally_product_enhancement_insert AFTER INSERT ON sn_dpr_model_product_enhancement BEGIN
    INSERT INTO tollgate_release_tally ("release", enhancements_open, enhancements_closed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed')
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed;
END;
CREATE TRIGGER tollgate_release_tally_product_enhancement_update AFTER UPDATE OF "release", state ON sn_dpr_model_product_enhancement BEGIN
    INSERT INTO tollgate_release_tally ("release", enhancements_open, enhancements_closed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed')
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed;
    INSERT INTO tollgate_release_tally ("release", enhancements_open, enhancements_closed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed')
    FROM (SELECT new."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed;
END;
CREATE TRIGGER tollgate_release_tally_product_enhancement_delete AFTER DELETE ON sn_dpr_model_product_enhancement BEGIN
    INSERT INTO tollgate_release_tally ("release", enhancements_open, enhancements_closed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed')
    FROM (SELECT old."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed;
END;
CREATE TRIGGER tollgate_release_tally_task_insert AFTER INSERT ON task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
END;
CREATE TRIGGER tollgate_release_tally_task_update AFTER UPDATE OF approval ON task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
END;
CREATE TRIGGER tollgate_release_tally_task_delete AFTER DELETE ON task BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
END;
CREATE TRIGGER tollgate_release_tally_release_insert AFTER INSERT ON sn_dpr_model_release BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT new.sys_id AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_release_update AFTER UPDATE OF current_phase, product ON sn_dpr_model_release BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT old.sys_id AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT new.sys_id AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_release_delete AFTER DELETE ON sn_dpr_model_release BEGIN
    INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT old.sys_id AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_release_phase_insert AFTER INSERT ON sn_dpr_model_release_phase BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 WHERE r2.current_phase = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_release_phase_update AFTER UPDATE OF template_phase ON sn_dpr_model_release_phase BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 WHERE r2.current_phase = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 WHERE r2.current_phase = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_release_phase_delete AFTER DELETE ON sn_dpr_model_release_phase BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 WHERE r2.current_phase = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_template_phase_policy_insert AFTER INSERT ON sn_dpr_model_template_phase_policy BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase WHERE ph2.template_phase = new.template_phase) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_template_phase_policy_update AFTER UPDATE OF template_phase, policy ON sn_dpr_model_template_phase_policy BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase WHERE ph2.template_phase = old.template_phase) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase WHERE ph2.template_phase = new.template_phase) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_template_phase_policy_delete AFTER DELETE ON sn_dpr_model_template_phase_policy BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase WHERE ph2.template_phase = old.template_phase) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_sn_pace_policy_insert AFTER INSERT ON sn_pace_policy BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase JOIN sn_dpr_model_template_phase_policy tp2 ON tp2.template_phase = ph2.template_phase WHERE tp2.policy = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_sn_pace_policy_update AFTER UPDATE OF active ON sn_pace_policy BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase JOIN sn_dpr_model_template_phase_policy tp2 ON tp2.template_phase = ph2.template_phase WHERE tp2.policy = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase JOIN sn_dpr_model_template_phase_policy tp2 ON tp2.template_phase = ph2.template_phase WHERE tp2.policy = new.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;
CREATE TRIGGER tollgate_release_tally_sn_pace_policy_delete AFTER DELETE ON sn_pace_policy BEGIN
    INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase JOIN sn_dpr_model_template_phase_policy tp2 ON tp2.template_phase = ph2.template_phase WHERE tp2.policy = old.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
END;

--! postgres
CREATE FUNCTION tollgate_release_tally_policy_execution() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE tollgate_release_tally SET policies_executed = policies_executed - CASE WHEN OLD.status IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END,
        policies_pending = policies_pending + CASE WHEN EXISTS (SELECT 1 FROM sn_dpr_model_release r JOIN sn_dpr_model_template_phase_policy tp ON tp.policy = OLD.policy JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase AND ph.template_phase = tp.template_phase JOIN sn_pace_policy p ON p.sys_id = OLD.policy AND p.active = TRUE WHERE r.sys_id = OLD."release" AND r.current_phase = OLD.release_phase AND r.product = OLD.product) THEN 1 ELSE 0 END
    WHERE "release" = OLD."release";
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE tollgate_release_tally SET policies_executed = policies_executed + CASE WHEN NEW.status IN ('compliant', 'non_compliant') THEN 1 ELSE 0 END,
        policies_pending = policies_pending - CASE WHEN EXISTS (SELECT 1 FROM sn_dpr_model_release r JOIN sn_dpr_model_template_phase_policy tp ON tp.policy = NEW.policy JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase AND ph.template_phase = tp.template_phase JOIN sn_pace_policy p ON p.sys_id = NEW.policy AND p.active = TRUE WHERE r.sys_id = NEW."release" AND r.current_phase = NEW.release_phase AND r.product = NEW.product) THEN 1 ELSE 0 END
    WHERE "release" = NEW."release";
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_policy_execution_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_policy_execution FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_policy_execution();
CREATE TRIGGER tollgate_release_tally_policy_execution_update AFTER UPDATE OF "release", status, release_phase, policy, product ON sn_dpr_model_policy_execution FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_policy_execution();
CREATE FUNCTION tollgate_release_tally_release_related_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT OLD."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT NEW."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_release_related_task_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_release_related_task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release_related_task();
CREATE TRIGGER tollgate_release_tally_release_related_task_update AFTER UPDATE OF "release", task ON sn_dpr_model_release_related_task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release_related_task();
CREATE FUNCTION tollgate_release_tally_product_enhancement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", enhancements_open, enhancements_closed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed')
    FROM (SELECT OLD."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", enhancements_open, enhancements_closed)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed')
    FROM (SELECT NEW."release" AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_product_enhancement_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_product_enhancement FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_product_enhancement();
CREATE TRIGGER tollgate_release_tally_product_enhancement_update AFTER UPDATE OF "release", state ON sn_dpr_model_product_enhancement FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_product_enhancement();
CREATE FUNCTION tollgate_release_tally_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = OLD.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved'))
    FROM (SELECT rt2."release" AS r FROM sn_dpr_model_release_related_task rt2 WHERE rt2.task = NEW.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_task_insert_delete AFTER INSERT OR DELETE ON task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_task();
CREATE TRIGGER tollgate_release_tally_task_update AFTER UPDATE OF approval ON task FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_task();
CREATE FUNCTION tollgate_release_tally_release() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT OLD.sys_id AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", tasks_approved, tasks_not_approved, enhancements_open, enhancements_closed, policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND t.approval = 'approved'),
        (SELECT COUNT(*) FROM sn_dpr_model_release_related_task rt JOIN task t ON t.sys_id = rt.task WHERE rt."release" = s.r AND (t.approval IS NULL OR t.approval <> 'approved')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND (e.state IS NULL OR e.state <> 'closed')),
        (SELECT COUNT(*) FROM sn_dpr_model_product_enhancement e WHERE e."release" = s.r AND e.state = 'closed'),
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT NEW.sys_id AS r) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET tasks_approved = excluded.tasks_approved,
        tasks_not_approved = excluded.tasks_not_approved,
        enhancements_open = excluded.enhancements_open,
        enhancements_closed = excluded.enhancements_closed,
        policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_release_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_release FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release();
CREATE TRIGGER tollgate_release_tally_release_update AFTER UPDATE OF current_phase, product ON sn_dpr_model_release FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release();
CREATE FUNCTION tollgate_release_tally_release_phase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 WHERE r2.current_phase = OLD.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 WHERE r2.current_phase = NEW.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_release_phase_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_release_phase FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release_phase();
CREATE TRIGGER tollgate_release_tally_release_phase_update AFTER UPDATE OF template_phase ON sn_dpr_model_release_phase FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_release_phase();
CREATE FUNCTION tollgate_release_tally_template_phase_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase WHERE ph2.template_phase = OLD.template_phase) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase WHERE ph2.template_phase = NEW.template_phase) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_template_phase_policy_insert_delete AFTER INSERT OR DELETE ON sn_dpr_model_template_phase_policy FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_template_phase_policy();
CREATE TRIGGER tollgate_release_tally_template_phase_policy_update AFTER UPDATE OF template_phase, policy ON sn_dpr_model_template_phase_policy FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_template_phase_policy();
CREATE FUNCTION tollgate_release_tally_sn_pace_policy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase JOIN sn_dpr_model_template_phase_policy tp2 ON tp2.template_phase = ph2.template_phase WHERE tp2.policy = OLD.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO tollgate_release_tally ("release", policies_executed, policies_pending)
    SELECT s.r,
        (SELECT COUNT(*) FROM sn_dpr_model_policy_execution x WHERE x."release" = s.r AND x.status IN ('compliant', 'non_compliant')),
        (SELECT COUNT(*) FROM sn_dpr_model_release r JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase
            JOIN sn_dpr_model_template_phase_policy tp ON tp.template_phase = ph.template_phase
            JOIN sn_pace_policy p ON p.sys_id = tp.policy AND p.active = TRUE
            WHERE r.sys_id = s.r AND NOT EXISTS (SELECT 1 FROM sn_dpr_model_policy_execution e
                WHERE e.release_phase = ph.sys_id AND e.policy = tp.policy AND e.product = r.product))
    FROM (SELECT r2.sys_id AS r FROM sn_dpr_model_release r2 JOIN sn_dpr_model_release_phase ph2 ON ph2.sys_id = r2.current_phase JOIN sn_dpr_model_template_phase_policy tp2 ON tp2.template_phase = ph2.template_phase WHERE tp2.policy = NEW.sys_id) s WHERE s.r IS NOT NULL
    ON CONFLICT ("release") DO UPDATE SET policies_executed = excluded.policies_executed,
        policies_pending = excluded.policies_pending;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tollgate_release_tally_sn_pace_policy_insert_delete AFTER INSERT OR DELETE ON sn_pace_policy FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_sn_pace_policy();
CREATE TRIGGER tollgate_release_tally_sn_pace_policy_update AFTER UPDATE OF active ON sn_pace_policy FOR EACH ROW EXECUTE FUNCTION tollgate_release_tally_sn_pace_policy();
