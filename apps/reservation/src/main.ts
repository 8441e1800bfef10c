import './instrument'; // must stay first
import { runService } from '@ticketing/service-runtime';
import { reservationService } from './reservation.service';

runService(reservationService);
