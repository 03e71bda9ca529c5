"""Customer journeys: the 360° timeline, loyalty, consent, service interactions,
preferences, carts that follow the customer, recommendations and segments.

Importing the package registers its data-protection exporter and eraser with
``customers.erasure``.
"""

from channelhub.customers.journeys import privacy as _privacy

_privacy.register()
