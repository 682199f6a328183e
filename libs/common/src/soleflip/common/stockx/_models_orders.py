"""Order resources: the order list item, the detailed order and shipping documents."""

from __future__ import annotations

from decimal import Decimal

from soleflip.common.contracts.bounds import check_amount
from soleflip.common.stockx._models_common import (
    AuthenticationDetails,
    InitiatedShipments,
    Page,
    Payout,
    ProductRef,
    StockXModel,
    Timestamp,
    VariantRef,
)


class OrderSummary(StockXModel):
    """An order as listed by the active and history lists.

    `status` is any string: StockX documents "OrderStatus or any string".
    """

    order_number: str
    listing_id: str | None = None
    ask_id: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    status: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    product: ProductRef | None = None
    variant: VariantRef | None = None
    authentication_details: AuthenticationDetails | None = None
    payout: Payout | None = None
    initiated_shipments: InitiatedShipments | None = None
    inventory_type: str | None = None
    condition: str | None = None
    condition_description: str | None = None

    def __post_init__(self) -> None:
        check_amount(self.amount, "amount")


class Shipment(StockXModel):
    """How and by when the seller ships an order."""

    ship_by_date: Timestamp = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    carrier_code: str | None = None
    shipping_label_url: str | None = None
    shipping_document_url: str | None = None

    @property
    def shipping_id(self) -> str | None:
        """The id for `get_shipping_document`: the last path segment of the document URL."""
        return shipping_id_from_url(self.shipping_document_url)


class Order(OrderSummary):
    """A single order (GET /selling/orders/{orderNumber}) with shipment and payout."""

    shipment: Shipment | None = None


class OrdersPage(Page):
    """One page of orders."""

    orders: tuple[OrderSummary, ...] = ()


class SellerShippingInstructions(StockXModel):
    """Label documents per language code."""

    normal_label: dict[str, str] = {}
    thermal_label: dict[str, str] = {}


class ShippingDocuments(StockXModel):
    """Documents a DIRECT order needs, with their URLs."""

    required_documents: dict[str, str] = {}
    message: str | None = None
    additional_documents_required: bool | None = None
    thermal_label_only: str | None = None
    seller_shipping_instructions: SellerShippingInstructions | None = None


class ShipmentDetails(StockXModel):
    """Response of GET /selling/orders/{orderNumber}/shipping-document (DIRECT orders only)."""

    shipping_documents: ShippingDocuments | None = None


def shipping_id_from_url(url: str | None) -> str | None:
    """`.../shipping-document/{shippingId}` -> `shippingId` (None when there is no document)."""
    if not url:
        return None
    tail = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail or None
