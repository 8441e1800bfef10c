import './instrument'; // must stay first
import { runService } from '@ticketing/service-runtime';
import { paymentService } from './payment.service';

runService(paymentService);
