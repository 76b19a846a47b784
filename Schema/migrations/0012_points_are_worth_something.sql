-- A point's value is more than 0 (issue 33): the liability finance reports is the outstanding
-- points at their value, and a value of 0 would report a debt of nothing. Settings already stored
-- with 0 stay as history (NOT VALID); every setting from now on is checked.
ALTER TABLE points.program_settings
    ADD CONSTRAINT point_value_positive CHECK (point_value > 0) NOT VALID;
