-- Cultural mediators book rides on behalf of the people they follow. A new enum value must be
-- committed before it is used, hence a migration of its own.
alter type staff_role add value if not exists 'mediator';
