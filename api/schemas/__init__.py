"""Request and response models, one module per resource, in families (``XRegister``, ``XPublic``)."""
