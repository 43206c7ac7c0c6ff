-- A rental whose unlock failed reinstates its reservation (rollbackUnlock); the member may then
-- rent from it again, so only one rental that did not fail may name a reservation.
ALTER TABLE rentals DROP CONSTRAINT rentals_reservation_id_key;
CREATE UNIQUE INDEX rentals_reservation_id_key ON rentals (reservation_id) WHERE status <> 'failed';
