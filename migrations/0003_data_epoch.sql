-- The data epoch: moved forward after every committed write transaction, so
-- an answer cached at epoch N is known current while the epoch is still N.
INSERT INTO tollgate_state (name, value) VALUES ('data_epoch', 0);
