// Tell the owner a record was processed.
exports.handler = async (event) => ({ notified: event.owner });
