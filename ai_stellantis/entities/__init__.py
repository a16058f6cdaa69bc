"""Stellantis entities: canonical rows and how each public endpoint maps onto them."""

from ai_stellantis.entities.dealer import (
    Dealer,
    DealerConnectDealer,
    InventoryDealer,
    LocatorDealer,
)
from ai_stellantis.entities.dealerconnect import (
    CodeGuideModel,
    CodeGuideOption,
    CodeGuidePackage,
    CodeGuideTrim,
    DealerConnectSale,
    DealerConnectVehicle,
    DealerVehicle,
    GuideFeature,
    GuideModel,
    Sale,
    Trim,
)
from ai_stellantis.entities.feature import Feature, InventoryOption, InventoryPackageFeature
from ai_stellantis.entities.model import (
    FiltersModelYearCode,
    InventoryModel,
    ModelYearCode,
    VehicleModel,
)
from ai_stellantis.entities.vehicle import (
    Incentive,
    InventoryIncentive,
    InventoryPackage,
    InventoryVehicle,
    Package,
    Vehicle,
)

PUBLIC_SOURCES = (
    InventoryVehicle,
    InventoryDealer,
    InventoryModel,
    InventoryOption,
    InventoryPackageFeature,
    LocatorDealer,
    FiltersModelYearCode,
)
"""The source entities of the public sites."""
DEALERCONNECT_SOURCES = (
    DealerConnectVehicle,
    DealerConnectDealer,
    DealerConnectSale,
    CodeGuideTrim,
    CodeGuideModel,
    CodeGuidePackage,
    CodeGuideOption,
)
"""The source entities of DealerConnect."""
SOURCES = PUBLIC_SOURCES + DEALERCONNECT_SOURCES
"""Every source entity class, in the order the transformed tier lists them."""

__all__ = [
    "DEALERCONNECT_SOURCES",
    "PUBLIC_SOURCES",
    "SOURCES",
    "CodeGuideModel",
    "CodeGuideOption",
    "CodeGuidePackage",
    "CodeGuideTrim",
    "Dealer",
    "DealerConnectDealer",
    "DealerConnectSale",
    "DealerConnectVehicle",
    "DealerVehicle",
    "Feature",
    "FiltersModelYearCode",
    "GuideFeature",
    "GuideModel",
    "Incentive",
    "InventoryDealer",
    "InventoryIncentive",
    "InventoryModel",
    "InventoryOption",
    "InventoryPackage",
    "InventoryPackageFeature",
    "InventoryVehicle",
    "LocatorDealer",
    "ModelYearCode",
    "Package",
    "Sale",
    "Trim",
    "Vehicle",
    "VehicleModel",
]
